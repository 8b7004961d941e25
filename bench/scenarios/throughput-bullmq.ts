import { randomBytes } from "node:crypto";
import { Queue } from "bullmq";
import { perSecond, summarize } from "../stats.ts";
import { type Child, nextMessage, send, spawnTs, stopChild } from "../support/children.ts";
import { cpuDelta, cpuSnapshot } from "../support/cpu.ts";
import { onEmergency } from "../support/emergency.ts";
import {
  deleteKeys,
  dropKeys,
  REDIS_URL,
  redisClient,
  redisCounters,
  redisDelta,
  round,
} from "../support/services.ts";
import { boundedRun, sleep } from "../support/timing.ts";
import { BULK_CHUNK, type ThroughputParams, type ThroughputSide } from "./throughput-overseer.ts";

export interface BullThroughput extends ThroughputSide {
  /** Queue.addBulk in chunks of 1,000: the bulk-insert ceiling, for reference only. */
  addBulk: { ms: number; perSec: number };
}

/**
 * The baseline: raw BullMQ on the same Redis, with its defaults (completed jobs kept, 30 s locks),
 * driven the same way as Overseer - the same three phases, submissions one job per call with the
 * same bound on calls in flight, one Worker child process with the same total concurrency.
 */
export async function bullmqThroughput(p: ThroughputParams): Promise<BullThroughput> {
  const prefix = `benchbull:${randomBytes(4).toString("hex")}`;
  const redis = redisClient();
  const connection = redisClient();
  const queue = new Queue("tp", { connection, prefix });
  const bulk = new Queue("bulk", { connection, prefix });
  const warm = new Queue("warm", { connection, prefix });
  let worker: Child | undefined;
  const forget = onEmergency(() => dropKeys(`${prefix}:*`));
  try {
    const concurrency = p.agents * p.agentConcurrency;
    worker = spawnTs(
      "bullmq worker",
      "bench/load/bull-worker.ts",
      {
        REDIS_URL,
        BULL_MODE: "drain",
        BULL_QUEUE: "tp",
        BULL_PREFIX: prefix,
        BULL_CONCURRENCY: String(concurrency),
      },
      { ipc: true },
    );
    const w = worker;
    await nextMessage(w, (m) => m.type === "loaded", 20_000, "worker process start");
    const reached = (total: number) =>
      nextMessage<{ type: string; at: number }>(
        w,
        (m) => m.type === "reached" && m.total === total,
        p.phaseTimeoutMs,
        `${total} jobs completed`,
      );

    await boundedRun(p.warmup, p.submitConcurrency, async (i) => {
      await warm.add("job", { n: i });
    });

    // Phase A: add only.
    const a0 = performance.now();
    const addLatency = await boundedRun(p.tasks, p.submitConcurrency, async (i) => {
      await queue.add("job", { n: i });
    });
    const addMs = performance.now() - a0;

    // Reference: addBulk into a queue nothing consumes.
    const k0 = performance.now();
    for (let i = 0; i < p.tasks; i += BULK_CHUNK) {
      await bulk.addBulk(
        Array.from({ length: Math.min(BULK_CHUNK, p.tasks - i) }, (_, j) => ({
          name: "job",
          data: { n: i + j },
        })),
      );
    }
    const bulkMs = performance.now() - k0;
    await bulk.obliterate({ force: true });

    // Phase B: the worker starts with N waiting.
    const drainDone = reached(p.tasks);
    const b0 = Date.now();
    send(w, { type: "notify", total: p.tasks });
    send(w, { type: "start" });
    const drainMs = (await drainDone).at - b0;

    // Phase C: the worker is idle and blocked on Redis; add and process at once.
    await sleep(p.settleMs);
    const pids = { worker: [w.proc.pid ?? 0], submitter: [process.pid] };
    const [r0, c0] = [await redisCounters(redis), cpuSnapshot(pids)];
    const e2eDone = reached(2 * p.tasks);
    send(w, { type: "notify", total: 2 * p.tasks });
    const c0At = Date.now();
    const e2eLatency = await boundedRun(p.tasks, p.submitConcurrency, async (i) => {
      await queue.add("job", { n: i });
    });
    const submittedAt = Date.now();
    const e2eAt = (await e2eDone).at;
    const c1 = cpuSnapshot(pids);
    const r1 = await redisCounters(redis);
    const e2eMs = e2eAt - c0At;
    const counts = await queue.getJobCounts(
      "completed",
      "failed",
      "active",
      "wait",
      "prioritized",
      "delayed",
    );
    return {
      submit: { ms: round(addMs), perSec: perSecond(p.tasks, addMs), latencyMs: summarize(addLatency) },
      addBulk: { ms: round(bulkMs), perSec: perSecond(p.tasks, bulkMs) },
      drain: { ms: drainMs, perSec: perSecond(p.tasks, drainMs) },
      endToEnd: {
        ms: e2eMs,
        perSec: perSecond(p.tasks, e2eMs),
        submitPerSec: perSecond(p.tasks, submittedAt - c0At),
        submitLatencyMs: summarize(e2eLatency),
      },
      cost: { redis: redisDelta(r0, r1, p.tasks), cpu: cpuDelta(c0, c1, p.tasks) },
      checks: { prefix, jobCounts: counts },
    };
  } finally {
    if (worker) await stopChild(worker.proc, "SIGKILL");
    for (const q of [queue, bulk, warm]) {
      await q.obliterate({ force: true }).catch(() => {});
      await q.close().catch(() => {});
    }
    await deleteKeys(redis, `${prefix}:*`).catch(() => 0);
    forget();
    redis.disconnect();
    connection.disconnect();
  }
}
