import type { BenchConfig } from "./config.ts";
import { describeMachine } from "./machine.ts";
import {
  type BenchResults,
  type BullDefaults,
  bullStalledWindowMs,
  type ReassignRun,
  reassignRatios,
} from "./report.ts";
import { fleet10k } from "./scenarios/fleet-10k.ts";
import { leaderFailover } from "./scenarios/leader-failover.ts";
import { pipelineRuns } from "./scenarios/pipeline-runs.ts";
import { bullmqReassign } from "./scenarios/reassign-bullmq.ts";
import { overseerReassign, type ReassignSide } from "./scenarios/reassign-overseer.ts";
import { reassignSessions } from "./scenarios/reassign-sessions.ts";
import { type RedisBenchmarkResult, redisBenchmark } from "./scenarios/redis-benchmark.ts";
import { wsFanout } from "./scenarios/ws-fanout.ts";
import { throughputScenario } from "./throughput.ts";

const STOCK = { lockDuration: 30_000, stalledInterval: 30_000 };

/**
 * Runs every scenario with its baseline, one after the other (never two loads at once on a small
 * machine). A failing scenario is recorded in `errors` and the others still run.
 */
export async function runSuite(
  config: BenchConfig,
  log: (line: string) => void = () => {},
): Promise<BenchResults> {
  const started = Date.now();
  const errors: string[] = [];
  const attempt = async <T>(what: string, fn: () => Promise<T>): Promise<T | null> => {
    const t0 = Date.now();
    log(`${what} …`);
    try {
      const value = await fn();
      log(`${what}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return value;
    } catch (error) {
      const message = `${what}: ${(error as Error)?.stack ?? String(error)}`;
      log(message);
      errors.push(message);
      return null;
    }
  };

  const machine = await describeMachine();
  const tp = config.throughput;
  const throughput = await throughputScenario(tp, attempt);
  const redis =
    config.redisBenchmarkRequests > 0
      ? await attempt<RedisBenchmarkResult>("redis-benchmark", () =>
          redisBenchmark(config.redisBenchmarkRequests),
        )
      : null;

  const reassign: ReassignRun[] = [];
  for (const { heartbeatMs, deadAfterMs } of config.reassign) {
    const label = `${heartbeatMs}ms`;
    const common = {
      samples: config.reassignSamples,
      budgetMs: config.reassignBudgetMs,
      jitter: config.reassignJitter,
    };
    const o = await attempt<ReassignSide>(`reassignment at ${label}, Overseer`, () =>
      overseerReassign({ heartbeatMs, deadAfterMs, ...common, transport: "http" }),
    );
    const b = await attempt<ReassignSide>(`reassignment at ${label}, raw BullMQ`, () =>
      bullmqReassign({ lockDurationMs: deadAfterMs, stalledIntervalMs: heartbeatMs, ...common }),
    );
    reassign.push({ label, heartbeatMs, deadAfterMs, overseer: o, bullmq: b, ratios: reassignRatios(o, b) });
  }

  // Sessions at the first (fastest) heartbeat settings, beside that pair's HTTP and BullMQ sides.
  const first = reassign[0];
  const reassignSessionsRun =
    first && config.reassignBacklog > 0
      ? await reassignSessions(
          {
            heartbeatMs: first.heartbeatMs,
            deadAfterMs: first.deadAfterMs,
            samples: config.reassignSamples,
            budgetMs: config.reassignBudgetMs,
            backlog: config.reassignBacklog,
            jitter: config.reassignJitter,
          },
          attempt,
          { http: first.overseer, bullmq: first.bullmq },
        )
      : null;

  const bullmqDefaults: BullDefaults = {
    ...STOCK,
    measured: false,
    expectedRangeMs: bullStalledWindowMs(STOCK.lockDuration, STOCK.stalledInterval),
    note:
      "Not measured (set BENCH_FULL=1 to measure 2 samples). Range implied by BullMQ's stalled-job check: " +
      "the lock expires lockDuration after its last renewal (renewed every lockDuration/2), and the job " +
      "moves back at the first stalled check after that, up to one stalledInterval later.",
  };
  if (config.full) {
    const result = await attempt<ReassignSide>("reassignment, raw BullMQ at stock lock settings", () =>
      bullmqReassign({
        lockDurationMs: STOCK.lockDuration,
        stalledIntervalMs: STOCK.stalledInterval,
        samples: 2,
        budgetMs: 0,
      }),
    );
    Object.assign(bullmqDefaults, {
      measured: result !== null,
      result,
      note: "Measured: 2 samples (BENCH_FULL=1).",
    });
  }

  // The scale scenarios, each beside its own baseline (see bench/report-scale.ts).
  const { fleet, wsFanout: ws, failover, pipelineRuns: runs } = config;
  const scale = {
    fleet: fleet ? await attempt(`fleet of ${fleet.agents} agents`, () => fleet10k(fleet)) : null,
    wsFanout: ws ? await attempt(`WebSocket fan-out to ${ws.clients} clients`, () => wsFanout(ws)) : null,
    pipelineRuns: runs
      ? await attempt(`pipeline execute, ${runs.runs} runs`, () => pipelineRuns(runs))
      : null,
    failover: failover ? await attempt("leader failover", () => leaderFailover(failover)) : null,
  };

  return {
    schema: 1,
    machine,
    params: {
      ...tp,
      reassignSamples: config.reassignSamples,
      full: config.full,
      redisBenchmarkRequests: config.redisBenchmarkRequests,
    },
    durationMs: Date.now() - started,
    throughput,
    redisBenchmark: redis,
    reassign,
    reassignSessions: reassignSessionsRun,
    bullmqDefaults,
    scale,
    errors,
  };
}
