// Re-runs the checker over a finished run's records: `node --import tsx bench/chaos/check.ts <dir>`
// (the directory `npm run chaos` printed). Same output and exit code as the run itself.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { checkChaos } from "./checker.ts";
import { chaosConfig } from "./config.ts";
import type { ChaosRecords } from "./records.ts";
import { reportText } from "./report.ts";

const dir = process.argv[2];
if (!dir) {
  process.stderr.write("usage: node --import tsx bench/chaos/check.ts <run directory>\n");
  process.exit(2);
}
const records = JSON.parse(readFileSync(join(dir, "records.json"), "utf8")) as ChaosRecords;
// The evidence window the run itself used (its report.json), else the environment's.
let evidenceMs = chaosConfig().evidenceMs;
try {
  const report = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as {
    config?: { evidenceMs?: number };
  };
  evidenceMs = report.config?.evidenceMs ?? evidenceMs;
} catch {
  // no report.json (an interrupted run): the environment's window
}
const verdict = checkChaos(records, { evidenceMs });
process.stdout.write(`${reportText(verdict, records)}\n`);
process.exit(verdict.ok ? 0 : 1);
