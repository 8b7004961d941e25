// Raw BullMQ worker for the baselines (child process, IPC). BULL_MODE:
//   "drain"  - no-op processor, BULL_CONCURRENCY slots, started on {type:"start"}; on
//              {type:"notify", total} answers {type:"reached", total, at} once that many jobs completed.
//   "hold"   - takes one job and never finishes it: {type:"holding", jobId, at}.
//   "rescue" - concurrency 1; a job named "gate" is held until {type:"release"} ({type:"gate-held"},
//              then {type:"gate-done"} once completed); any other job answers {type:"picked", jobId, at}
//              when it starts.
// It answers {type:"loaded"} once its worker (if any) is connected.
// Lock settings come from BULL_LOCK_MS / BULL_STALLED_MS (BullMQ defaults when unset).
import { type Job, Worker, type WorkerOptions } from "bullmq";
import { Redis } from "ioredis";
import { completionTargets } from "./completion-targets.ts";

const env = process.env;
const mode = env["BULL_MODE"];
const queueName = env["BULL_QUEUE"] ?? "";
const send = (m: Record<string, unknown>) => process.send?.(m);
const connection = new Redis(env["REDIS_URL"] ?? "redis://127.0.0.1:6379", { maxRetriesPerRequest: null });
const options: WorkerOptions = {
  connection,
  prefix: env["BULL_PREFIX"],
  concurrency: Number(env["BULL_CONCURRENCY"] ?? 1),
};
if (env["BULL_LOCK_MS"]) options.lockDuration = Number(env["BULL_LOCK_MS"]);
if (env["BULL_STALLED_MS"]) options.stalledInterval = Number(env["BULL_STALLED_MS"]);

const targets = completionTargets(send);
let releaseGate: () => void = () => {};

async function startWorker(processor: (job: Job) => Promise<unknown>): Promise<Worker> {
  const worker = new Worker(queueName, processor, options);
  worker.on("error", (err) => send({ type: "warning", message: err.message }));
  worker.on("completed", (job) => {
    targets.complete();
    if (job.name === "gate") send({ type: "gate-done", jobId: job.id });
  });
  await worker.waitUntilReady();
  return worker;
}

async function main(): Promise<void> {
  if (mode === "hold") {
    await startWorker(async (job) => {
      send({ type: "holding", jobId: job.id, at: Date.now() });
      await new Promise(() => {});
    });
  } else if (mode === "rescue") {
    await startWorker(async (job) => {
      if (job.name === "gate") {
        send({ type: "gate-held", jobId: job.id });
        await new Promise<void>((resolve) => {
          releaseGate = resolve;
        });
        return null;
      }
      send({ type: "picked", jobId: job.id, at: Date.now() });
      return null;
    });
  } else if (mode !== "drain") {
    throw new Error(`unknown BULL_MODE ${mode}`);
  }
}

process.on("message", (m: { type?: string; total?: number }) => {
  if (m?.type === "start" && mode === "drain") {
    startWorker(async () => null).then(
      () => send({ type: "started" }),
      (err: Error) => send({ type: "error", message: err.message }),
    );
  }
  if (m?.type === "notify" && typeof m.total === "number") {
    targets.expect(m.total);
  }
  if (m?.type === "release") releaseGate();
});
process.on("disconnect", () => process.exit(1));
main().then(
  () => send({ type: "loaded" }),
  (err: Error) => {
    send({ type: "error", message: err.message });
    process.exit(1);
  },
);
