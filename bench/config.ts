import { envIntReader } from "../daemon/config/env-int.ts";
import type { EtaParams } from "./scenarios/eta-accuracy.ts";
import type { PipelineRunsParams } from "./scenarios/pipeline-runs.ts";
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

export interface PipelineBenchConfig {
  runs: PipelineRunsParams;
  eta: EtaParams;
}

/**
 * Settings of the pipeline scenarios (`npm run bench -- pipelines`), from the environment:
 *   BENCH_PIPELINE_RUNS (1000)              `mission` runs fired
 *   BENCH_PIPELINE_CLIENTS (50)             execute requests (and Queue.add / INSERT calls) in flight
 *   BENCH_PIPELINE_AGENT_CONCURRENCY (50)   slots of each pipeline role's agent
 *   BENCH_PIPELINE_PROBE_CALLS (100)        one-at-a-time execute calls while the runs are in flight
 *   BENCH_ETA_HISTORY_RUNS (20)             completed runs that seed the history
 *   BENCH_ETA_RUNS (10)                     measured runs per method (rate, then history)
 */
export function pipelineBenchConfig(env: NodeJS.ProcessEnv = process.env): PipelineBenchConfig {
  const problems: string[] = [];
  const int = envIntReader(env, problems);
  const runs = int("BENCH_PIPELINE_RUNS", 1_000, 1, 100_000);
  const config: PipelineBenchConfig = {
    runs: {
      runs,
      clients: int("BENCH_PIPELINE_CLIENTS", 50, 1, 1_000),
      agentConcurrency: int("BENCH_PIPELINE_AGENT_CONCURRENCY", 50, 1, 1_000),
      workMs: [5, 20],
      warmup: 20,
      // Generous: below 5 runs/s to completion is broken, not slow.
      timeoutMs: Math.max(60_000, runs * 200),
      probeCalls: int("BENCH_PIPELINE_PROBE_CALLS", 100, 1, 10_000),
    },
    eta: {
      historyRuns: int("BENCH_ETA_HISTORY_RUNS", 20, 3, 1_000),
      runs: int("BENCH_ETA_RUNS", 10, 1, 1_000),
      stepMs: [150, 300, 100],
      jitter: 0.1,
      runTimeoutMs: 30_000,
    },
  };
  if (problems.length > 0) throw new Error(`bad bench settings:\n  - ${problems.join("\n  - ")}`);
  return config;
}
