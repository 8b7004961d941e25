import { type BenchResults, throughputRatios } from "./report.ts";
import { bullmqThroughput } from "./scenarios/throughput-bullmq.ts";
import { graphileThroughput } from "./scenarios/throughput-graphile.ts";
import { overseerThroughput, type ThroughputParams } from "./scenarios/throughput-overseer.ts";
import { skipLockedThroughput } from "./scenarios/throughput-skiplocked.ts";

/**
 * The throughput scenario: Overseer, then raw BullMQ, a bare Postgres SKIP LOCKED queue and
 * graphile-worker with the same parameters, one after the other (never two loads at once). Each runs
 * through `attempt`, so one failing leaves its side null and the others still run.
 */
export async function throughputScenario(
  p: ThroughputParams,
  attempt: <T>(what: string, fn: () => Promise<T>) => Promise<T | null>,
): Promise<BenchResults["throughput"]> {
  const overseer = await attempt("throughput, Overseer", () => overseerThroughput(p));
  const bullmq = await attempt("throughput, raw BullMQ", () => bullmqThroughput(p));
  const skipLocked = await attempt("throughput, Postgres SKIP LOCKED", () => skipLockedThroughput(p));
  const graphileWorker = await attempt("throughput, graphile-worker", () => graphileThroughput(p));
  return {
    overseer,
    bullmq,
    skipLocked,
    graphileWorker,
    ratios: throughputRatios(overseer, bullmq, skipLocked, graphileWorker),
  };
}
