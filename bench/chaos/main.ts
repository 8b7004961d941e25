// `npm run chaos`: one chaos run with the settings from the environment (bench/chaos/config.ts:
// CHAOS_MINUTES, CHAOS_PG_OUTAGE_MS, ...). Prints the fault timeline and the checker's results,
// writes report.json beside the records, exits 0 only when every check passes. Ctrl-C stops every
// child and the run's own Redis and Postgres.
import { killAllChildren } from "../support/children.ts";
import { runEmergencyCleanups } from "../support/emergency.ts";
import { chaosConfig } from "./config.ts";
import { runChaos } from "./orchestrator.ts";

async function main(): Promise<void> {
  let interrupted = false;
  const interrupt = (signal: string) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\nchaos: ${signal}: stopping every child and the run's services\n`);
    killAllChildren();
    void runEmergencyCleanups().finally(() => process.exit(130));
  };
  process.on("SIGINT", () => interrupt("SIGINT"));
  process.on("SIGTERM", () => interrupt("SIGTERM"));
  const config = chaosConfig();
  const stamp = () => new Date().toISOString().slice(11, 19);
  const outcome = await runChaos(config, (line) => process.stdout.write(`[${stamp()}] ${line}\n`));
  process.stdout.write(`\n${outcome.text}\n\nReport: ${outcome.reportFile}\n`);
  process.exit(outcome.verdict.ok ? 0 : 1);
}

main().catch(async (error) => {
  process.stderr.write(`chaos: ${(error as Error).stack ?? error}\n`);
  killAllChildren();
  await runEmergencyCleanups();
  process.exit(2);
});
