import { envIntReader } from "../daemon/config/env-int.ts";
import type { ThroughputParams } from "./scenarios/throughput-overseer.ts";

export interface ReassignConfig {
  heartbeatMs: number;
  deadAfterMs: number;
}

export interface BenchConfig {
  throughput: ThroughputParams;
  reassign: ReassignConfig[];
  reassignSamples: number;
  /** Per side and configuration: samples stop early once this much time has gone. */
  reassignBudgetMs: number;
  /** Random wait before each kill; only the smoke test turns it off. */
  reassignJitter: boolean;
  /** Also measure BullMQ's stock lock settings (30 s / 30 s), 2 samples: about 2 minutes more. */
  full: boolean;
  /** redis-benchmark -n; 0 skips it. */
  redisBenchmarkRequests: number;
}

/**
 * Reads the bench settings from the environment (all optional):
 *   BENCH_TASKS (10000)              tasks / jobs per throughput phase
 *   BENCH_AGENTS (4) × BENCH_AGENT_CONCURRENCY (16)   consumer slots, the same for BullMQ
 *   BENCH_SUBMIT_CONCURRENCY (64)    submissions in flight
 *   BENCH_REASSIGN_SAMPLES (20)      kills per side and setting
 *   BENCH_REASSIGN_BUDGET_S (130)    time cap per side and setting
 *   BENCH_FULL (0)                   1: also 2 samples of BullMQ at stock lock settings
 *   BENCH_REDIS_REQUESTS (100000)    redis-benchmark -n; 0 skips it
 */
export function benchConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const problems: string[] = [];
  const int = envIntReader(env, problems);
  const tasks = int("BENCH_TASKS", 10_000, 1, 1_000_000);
  const config: BenchConfig = {
    throughput: {
      tasks,
      agents: int("BENCH_AGENTS", 4, 1, 64),
      agentConcurrency: int("BENCH_AGENT_CONCURRENCY", 16, 1, 1_000),
      submitConcurrency: int("BENCH_SUBMIT_CONCURRENCY", 64, 1, 1_000),
      // Generous: a phase that runs below 20 tasks/s is broken, not slow.
      phaseTimeoutMs: Math.max(60_000, tasks * 50),
      warmup: 50,
      settleMs: 1_500,
    },
    reassign: [
      { heartbeatMs: 250, deadAfterMs: 750 },
      { heartbeatMs: 1_000, deadAfterMs: 3_000 },
    ],
    reassignSamples: int("BENCH_REASSIGN_SAMPLES", 20, 1, 1_000),
    reassignBudgetMs: int("BENCH_REASSIGN_BUDGET_S", 130, 1, 3_600) * 1000,
    reassignJitter: true,
    full: /^(1|true|yes|on)$/i.test(env["BENCH_FULL"] ?? ""),
    redisBenchmarkRequests: int("BENCH_REDIS_REQUESTS", 100_000, 0, 10_000_000),
  };
  if (problems.length > 0) throw new Error(`bad bench settings:\n  - ${problems.join("\n  - ")}`);
  return config;
}
