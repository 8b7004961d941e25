// `npm run bench`: runs every scenario beside its baseline on this machine, prints the results,
// writes bench/results/latest.json and regenerates the results block of docs/performance.md.
// Settings: see bench/config.ts (BENCH_TASKS, BENCH_REASSIGN_SAMPLES, BENCH_FULL, ...).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { benchConfig } from "./config.ts";
import { resultsMarkdown, updateDoc, writeJson } from "./report.ts";
import { runSuite } from "./suite.ts";
import { killAllChildren } from "./support/children.ts";
import { runEmergencyCleanups } from "./support/emergency.ts";

const RESULTS = fileURLToPath(new URL("./results/latest.json", import.meta.url));
const DOC = fileURLToPath(new URL("../docs/performance.md", import.meta.url));
const BIOME = fileURLToPath(new URL("../node_modules/.bin/biome", import.meta.url));

/** Formats what the run wrote the way `npm run lint` expects (JSON arrays, Markdown tables). */
function format(files: string[]): void {
  const r = spawnSync(BIOME, ["format", "--write", ...files], { encoding: "utf8" });
  if (r.status !== 0)
    process.stderr.write(`[bench] biome format failed (lint may complain): ${r.stderr || r.error}\n`);
}

async function main(): Promise<void> {
  const config = benchConfig();
  let interrupted = false;
  const interrupt = (signal: string) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n[bench] ${signal}: stopping children and dropping bench data …\n`);
    killAllChildren();
    void runEmergencyCleanups().finally(() => process.exit(130));
  };
  process.on("SIGINT", () => interrupt("SIGINT"));
  process.on("SIGTERM", () => interrupt("SIGTERM"));

  const t0 = Date.now();
  const log = (line: string) =>
    process.stderr.write(`[bench +${String(Math.round((Date.now() - t0) / 1000)).padStart(3)} s] ${line}\n`);
  const results = await runSuite(config, log);

  process.stdout.write(`\n${resultsMarkdown(results)}\n\n`);
  writeJson(RESULTS, results);
  process.stdout.write(`wrote ${RESULTS}\n`);
  if (results.errors.length === 0) {
    updateDoc(DOC, results);
    format([RESULTS, DOC]);
    process.stdout.write(`updated ${DOC}\n`);
  } else {
    format([RESULTS]);
    process.stdout.write(`${results.errors.length} scenario(s) failed: docs/performance.md left as it was\n`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  process.stderr.write(`[bench] failed: ${(error as Error)?.stack ?? error}\n`);
  killAllChildren();
  void runEmergencyCleanups().finally(() => process.exit(1));
});
