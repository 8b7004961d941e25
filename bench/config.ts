import { envIntReader } from "../daemon/config/env-int.ts";
import type { EtaParams } from "./scenarios/eta-accuracy.ts";
import type { FleetParams } from "./scenarios/fleet-10k.ts";
import type { FailoverParams } from "./scenarios/leader-failover.ts";
import type { PipelineRunsParams } from "./scenarios/pipeline-runs.ts";
import type { RegistrationParams } from "./scenarios/registration.ts";
import type { ScrapeStormParams } from "./scenarios/scrape-storm.ts";
import type { SessionFleetParams } from "./scenarios/session-fleet.ts";
import type { ThroughputParams } from "./scenarios/throughput-overseer.ts";
import type { WsFanoutParams } from "./scenarios/ws-fanout.ts";

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
  /** Tasks of the type kept queued in the sessions' crash → claimed run under a backlog; 0 skips the sessions' runs. */
  reassignBacklog: number;
  /** `npm run bench -- session-fleet`: agents on sessions at 1 Hz, the window, the redis-benchmark ceiling's requests. */
  sessionFleet: SessionFleetParams;
  /** Also measure BullMQ's stock lock settings (30 s / 30 s), 2 samples: about 2 minutes more. */
  full: boolean;
  /** redis-benchmark -n; 0 skips it. */
  redisBenchmarkRequests: number;
  /** The "10k fleet" scenario (heartbeats, CPU, /metrics, dashboard reads, RSS); null skips it. */
  fleet: FleetParams | null;
  /** WebSocket fan-out (bench/scenarios/ws-fanout.ts); null skips it. */
  wsFanout: WsFanoutParams | null;
  /** Leader failover between two replicas; null skips it. */
  failover: FailoverParams | null;
  /** The pipeline execute scenario (bench/scenarios/pipeline-runs.ts); null skips it. */
  pipelineRuns: PipelineRunsParams | null;
  /** A dashboard read alone and under parallel /metrics scrapers (`npm run bench -- scrape-storm` only). */
  scrapeStorm: ScrapeStormParams;
  /** Registering a fleet beside a raw Postgres registry (`npm run bench -- registration` only). */
  registration: RegistrationParams;
}

/**
 * Reads the bench settings from the environment (all optional):
 *   BENCH_TASKS (10000)              tasks / jobs per throughput phase
 *   BENCH_AGENTS (4) × BENCH_AGENT_CONCURRENCY (16)   consumer slots, the same for BullMQ
 *   BENCH_SUBMIT_CONCURRENCY (64)    submissions in flight
 *   BENCH_REASSIGN_SAMPLES (20)      kills per side and setting
 *   BENCH_REASSIGN_BUDGET_S (130)    time cap per side and setting
 *   BENCH_FULL (0)                   1: also 2 samples of BullMQ at stock lock settings
 *   BENCH_REDIS_REQUESTS (100000)    redis-benchmark -n (both storage-limit runs); 0 skips them
 *   BENCH_AGENTS_10K (10000)         simulated agents heartbeating at 1 Hz; 0 skips the fleet scenario
 *   BENCH_FLEET_DURATION_S (30)      the fleet's measurement window
 *   BENCH_FLEET_READS (50)           /metrics scrapes, and reads of each dashboard endpoint, per side
 *   BENCH_FLEET_SOCKETS (256)        keep-alive connections the heartbeat load generator uses
 *   BENCH_RSS_SETTLE_S (10)          settling time before each daemon RSS reading after the reads
 *   BENCH_WS_CLIENTS (1000)          WebSocket clients (fan-out scenario and the fleet's RSS reading)
 *   BENCH_WS_EVENTS (200)            fan-out events measured; 0 skips the fan-out scenario
 *   BENCH_FAILOVER_SAMPLES (5)       leader kills, and as many graceful stops; 0 skips failover
 *   BENCH_LEADER_LEASE_MS (2000)     OVERSEER_LEADER_LEASE_MS of the two failover replicas
 *   BENCH_PIPELINE_* (below)         the pipeline execute scenario; BENCH_PIPELINE_RUNS=0 skips it
 *   BENCH_STORM_AGENTS (500), BENCH_STORM_SCRAPERS (32), BENCH_STORM_READS (200): scrape-storm
 *   BENCH_REGISTER_AGENTS (10000), BENCH_REGISTER_CONCURRENCY (64): registration
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
    reassignBacklog: int("BENCH_REASSIGN_BACKLOG", 1_000, 0, 100_000),
    sessionFleet: {
      agents: int("BENCH_SESSION_AGENTS", 10_000, 1, 100_000),
      durationMs: int("BENCH_SESSION_WINDOW_S", 20, 1, 3_600) * 1000,
      redisRequests: int("BENCH_REDIS_REQUESTS", 100_000, 0, 10_000_000),
    },
    full: /^(1|true|yes|on)$/i.test(env["BENCH_FULL"] ?? ""),
    redisBenchmarkRequests: int("BENCH_REDIS_REQUESTS", 100_000, 0, 10_000_000),
    fleet: null,
    wsFanout: null,
    failover: null,
    pipelineRuns: null,
    scrapeStorm: {
      agents: int("BENCH_STORM_AGENTS", 500, 0, 100_000),
      scrapers: int("BENCH_STORM_SCRAPERS", 32, 1, 1_000),
      reads: int("BENCH_STORM_READS", 200, 1, 100_000),
    },
    registration: {
      agents: int("BENCH_REGISTER_AGENTS", 10_000, 1, 1_000_000),
      concurrency: int("BENCH_REGISTER_CONCURRENCY", 64, 1, 1_000),
    },
  };
  const agents10k = int("BENCH_AGENTS_10K", 10_000, 0, 100_000);
  const wsClients = int("BENCH_WS_CLIENTS", 1_000, 1, 20_000);
  const reads = int("BENCH_FLEET_READS", 50, 1, 10_000);
  if (agents10k > 0)
    config.fleet = {
      agents: agents10k,
      durationMs: int("BENCH_FLEET_DURATION_S", 30, 1, 3_600) * 1000,
      wsClients,
      metricsScrapes: reads,
      dashboardReads: reads,
      redisRequests: config.redisBenchmarkRequests,
      sockets: int("BENCH_FLEET_SOCKETS", 256, 1, 10_000),
      rssSettleMs: int("BENCH_RSS_SETTLE_S", 10, 0, 600) * 1000,
    };
  const wsEvents = int("BENCH_WS_EVENTS", 200, 0, 100_000);
  if (wsEvents > 0) config.wsFanout = { clients: wsClients, events: wsEvents, pubsubSamples: 1_000 };
  const failoverSamples = int("BENCH_FAILOVER_SAMPLES", 5, 0, 100);
  if (failoverSamples > 0)
    config.failover = {
      samples: failoverSamples,
      leaseMs: int("BENCH_LEADER_LEASE_MS", 2_000, 100, 600_000),
      pollMs: 50,
    };
  if (int("BENCH_PIPELINE_RUNS", 1_000, 0, 100_000) > 0) config.pipelineRuns = pipelineBenchConfig(env).runs;
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
  // 0 is accepted (it skips the scenario in a plain `npm run bench`); here it means 1.
  const runs = Math.max(1, int("BENCH_PIPELINE_RUNS", 1_000, 0, 100_000));
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
