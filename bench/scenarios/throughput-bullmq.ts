import { randomBytes } from "node:crypto";
import { Queue } from "bullmq";
import { onEmergency } from "../support/emergency.ts";
import {
  deleteKeys,
  dropKeys,
  REDIS_URL,
  redisClient,
  redisCounters,
  redisDelta,
} from "../support/services.ts";
import type { ThroughputParams, ThroughputSide } from "./throughput-overseer.ts";
import { peerThroughput } from "./throughput-peer.ts";

export interface BullThroughput extends ThroughputSide {
  /** Queue.addBulk in chunks of 1,000: the bulk-insert ceiling, for reference only. */
  addBulk: { ms: number; perSec: number };
}

/**
 * The baseline: raw BullMQ on the same Redis, with its defaults (completed jobs kept, 30 s locks),
 * driven through the same phases as every peer (throughput-peer.ts): submissions one job per call
 * with the same bound on calls in flight, one Worker child process with the same total concurrency,
 * and the end-to-end phase's Redis commands beside its CPU.
 */
export async function bullmqThroughput(p: ThroughputParams): Promise<BullThroughput> {
  const prefix = `benchbull:${randomBytes(4).toString("hex")}`;
  const redis = redisClient();
  const connection = redisClient();
  const queue = new Queue("tp", { connection, prefix });
  const bulk = new Queue("bulk", { connection, prefix });
  const warm = new Queue("warm", { connection, prefix });
  const forget = onEmergency(() => dropKeys(`${prefix}:*`));
  try {
    const { bulk: addBulk, ...side } = await peerThroughput(p, {
      worker: {
        name: "bullmq worker",
        entry: "bench/load/bull-worker.ts",
        env: {
          REDIS_URL,
          BULL_MODE: "drain",
          BULL_QUEUE: "tp",
          BULL_PREFIX: prefix,
          BULL_CONCURRENCY: String(p.agents * p.agentConcurrency),
        },
      },
      add: async (i) => {
        await queue.add("job", { n: i });
      },
      warm: async (i) => {
        await warm.add("job", { n: i });
      },
      addBulk: async (first, count) => {
        await bulk.addBulk(
          Array.from({ length: count }, (_, j) => ({ name: "job", data: { n: first + j } })),
        );
      },
      clearUnconsumed: async () => {
        await bulk.obliterate({ force: true });
      },
      measureCost: async () => {
        const r0 = await redisCounters(redis);
        return async () => ({ redis: redisDelta(r0, await redisCounters(redis), p.tasks) });
      },
      checks: async () => ({
        prefix,
        jobCounts: await queue.getJobCounts(
          "completed",
          "failed",
          "active",
          "wait",
          "prioritized",
          "delayed",
        ),
      }),
    });
    return { ...side, addBulk };
  } finally {
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
