import { Logger, makeWorkerUtils, type WorkerUtils } from "graphile-worker";
import { onEmergency } from "../support/emergency.ts";
import { benchNamespace, DATABASE_URL, dropSchema } from "../support/services.ts";
import { until } from "../support/timing.ts";
import { BULK_CHUNK, type ThroughputParams } from "./throughput-overseer.ts";
import { type PeerThroughput, peerThroughput } from "./throughput-peer.ts";

const TASK = "noop";

// Warnings and errors only: graphile-worker logs every job at info, which no other system here does.
const quiet = new Logger(() => (level, message) => {
  if (level === "error" || level === "warning") console.error(`[graphile-worker] ${level}: ${message}`);
});

/**
 * graphile-worker, a Postgres job queue: its own schema (bench_gw_<hex>, migrated before anything is
 * timed, dropped at the end), jobs added one WorkerUtils.addJob per call (bulk: WorkerUtils.addJobs,
 * 1,000 a call, onto a task nothing runs), run by graphile-worker's runner in one child process
 * (bench/load/graphile-worker.ts), driven through the same phases and slots as raw BullMQ.
 * WorkerUtils keeps its defaults (a pool of 10 connections): the submissions in flight queue there.
 */
export async function graphileThroughput(p: ThroughputParams): Promise<PeerThroughput> {
  const schema = benchNamespace("gw");
  const forget = onEmergency(() => dropSchema(schema));
  let utils: WorkerUtils | undefined;
  try {
    const u = await makeWorkerUtils({ schema, connectionString: DATABASE_URL, logger: quiet });
    utils = u;
    await u.migrate();
    // Warm-up and bulk jobs nobody runs, by id: completeJobs (which deletes them) clears them.
    const unconsumed: string[] = [];
    return await peerThroughput(p, {
      worker: {
        name: "graphile-worker runner",
        entry: "bench/load/graphile-worker.ts",
        env: {
          DATABASE_URL,
          GW_SCHEMA: schema,
          GW_CONCURRENCY: String(p.agents * p.agentConcurrency),
          NO_LOG_SUCCESS: "1",
        },
      },
      add: async (i) => {
        await u.addJob(TASK, { n: i });
      },
      warm: async (i) => {
        unconsumed.push((await u.addJob("bench.warm", { n: i })).id);
      },
      // addJobs is WorkerUtils' bulk insert in 0.17 (marked experimental): one statement a call.
      addBulk: async (first, count) => {
        const jobs = await u.addJobs(
          Array.from({ length: count }, (_, j) => ({ identifier: "bench.bulk", payload: { n: first + j } })),
        );
        for (const job of jobs) unconsumed.push(job.id);
      },
      clearUnconsumed: async () => {
        for (let i = 0; i < unconsumed.length; i += BULK_CHUNK)
          await u.completeJobs(unconsumed.slice(i, i + BULK_CHUNK));
      },
      checks: async () => {
        // job:success comes before the completion is written: wait (untimed) for the last writes.
        const left = () =>
          u.withPgClient((c) =>
            c.query<{ task_identifier: string; n: number }>(
              `SELECT task_identifier, count(*)::int AS n FROM ${schema}.jobs GROUP BY 1 ORDER BY 1`,
            ),
          );
        await until(async () => (await left()).rows.length === 0, {
          timeoutMs: 10_000,
          everyMs: 50,
          what: `${schema}: every job deleted`,
        }).catch(() => {});
        const rows = (await left()).rows;
        return { schema, jobsLeft: Object.fromEntries(rows.map((r) => [r.task_identifier, r.n])) };
      },
    });
  } finally {
    await Promise.resolve(utils?.release()).catch(() => {});
    await dropSchema(schema).catch((error) => console.error(`dropping ${schema} failed:`, error));
    forget();
  }
}
