// graphile-worker's runner for the throughput peer (child process, IPC), drain mode of
// bull-worker.ts: a no-op task `noop` on GW_CONCURRENCY slots, started on {type:"start"} (answers
// {type:"started"}); on {type:"notify", total} answers {type:"reached", total, at, completed}, counting
// completions from its `job:success` events. It answers {type:"loaded"} once ready to start.
//
// Settings: run({ connectionString, schema, concurrency, noHandleSignals: true, taskList, events,
// logger }) and graphile-worker's defaults otherwise (0.17: maxPoolSize 10, pollInterval 2 s for
// future jobs - new ones wake it by LISTEN/NOTIFY -, prepared statements, no local queue, no
// completion batching). The logger only passes warnings and errors on, and NO_LOG_SUCCESS (set by
// the parent) skips the per-job "Completed task" line: the other systems log nothing per job, and
// the lines would travel through a pipe to the bench runner, whose CPU counts as the submitter's.
//
// `job:success` fires when the task function resolved, before its completion is written (the
// runner does not wait for that write), so `at` is when the last handler finished; the parent
// checks afterwards that the table empties.
import { EventEmitter } from "node:events";
import { Logger, run, type WorkerEvents } from "graphile-worker";
import { completionTargets } from "./completion-targets.ts";

const env = process.env;
const send = (m: Record<string, unknown>) => process.send?.(m);
const targets = completionTargets(send);

const events = new EventEmitter() as WorkerEvents;
events.on("job:success", () => targets.complete());

const logger = new Logger(() => (level, message) => {
  if (level === "error" || level === "warning") send({ type: "warning", message: `${level}: ${message}` });
});

async function start(): Promise<void> {
  const runner = await run({
    connectionString: env["DATABASE_URL"],
    schema: env["GW_SCHEMA"],
    concurrency: Number(env["GW_CONCURRENCY"] ?? 1),
    noHandleSignals: true,
    taskList: { noop: async () => {} },
    events,
    logger,
  });
  runner.promise.catch((error: Error) => send({ type: "error", message: error.message }));
}

process.on("message", (m: { type?: string; total?: number }) => {
  if (m?.type === "start") {
    start().then(
      () => send({ type: "started" }),
      (error: Error) => send({ type: "error", message: error.message }),
    );
  }
  if (m?.type === "notify" && typeof m.total === "number") targets.expect(m.total);
});
process.on("disconnect", () => process.exit(1));
send({ type: "loaded" });
