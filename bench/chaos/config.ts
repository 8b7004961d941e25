// Chaos run settings, read from the environment (`npm run chaos`), and the fault schedule built
// from them. Pure: no I/O, so the CI smoke test and the unit tests build the same plan.

/** The Overseer namespace of the run (its own services, so a fixed name is safe). */
export const NAMESPACE = "chaos";

/** Kinds of fault the suite injects, in the order of the default timeline. */
export const FAULT_KINDS = [
  "agent-kill",
  "leader-kill",
  "replica-kill",
  "redis-restart",
  "postgres-stop",
  "leader-pause",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface ChaosConfig {
  /** Steady load (and the fault timeline inside it), ms. */
  loadMs: number;
  /** Tasks submitted per second (round-robin over the replicas). */
  tasksPerSec: number;
  /** `mission` pipeline runs submitted per second. */
  runsPerSec: number;
  /** Postgres stays stopped this long (the issue asks for 30 s; the CI smoke uses less). */
  postgresOutageMs: number;
  /** A killed replica (leader or not) is restarted after this long. */
  replicaDownMs: number;
  /** Redis stays down this long between its SIGKILL and the restart from its AOF. */
  redisDownMs: number;
  /** The leader lease the replicas run with (OVERSEER_LEADER_LEASE_MS). */
  leaseMs: number;
  /** A SIGSTOPped replica stays stopped this long: more than the lease, so another replica takes over. */
  pauseMs: number;
  /** Upper bound of the wait, after the load stops, for every accepted task and run to finish. */
  drainMs: number;
  /** After a fault ends, how long its effects may take to show in the scraped metrics. */
  evidenceMs: number;
  /** Worker agent processes (sdk/run-agent.ts) and their slots. */
  workerAgents: number;
  workerConcurrency: number;
  workerWorkMs: number;
  /** Times each fault kind occurs in the timeline. */
  rounds: number;
  /** Where the run writes its records and report (a fresh directory per run when unset). */
  outDir: string | undefined;
}

const num = (env: NodeJS.ProcessEnv, key: string, fallback: number, min: number, max: number): number => {
  const raw = env[key];
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max)
    throw new Error(`${key} must be a number in [${min}, ${max}], got "${raw}"`);
  return value;
};

/**
 * The full run's settings unless the environment overrides them: 6 minutes of load with every
 * fault kind twice (CHAOS_ROUNDS). CHAOS_MINUTES is the load's length; the faults are spread
 * inside it (see `buildTimeline`).
 */
export function chaosConfig(env: NodeJS.ProcessEnv = process.env): ChaosConfig {
  const leaseMs = num(env, "CHAOS_LEASE_MS", 2000, 500, 60_000);
  return {
    loadMs: Math.round(num(env, "CHAOS_MINUTES", 6, 0.5, 120) * 60_000),
    tasksPerSec: num(env, "CHAOS_TASKS_PER_SEC", 4, 0.1, 500),
    runsPerSec: num(env, "CHAOS_RUNS_PER_SEC", 0.5, 0, 100),
    postgresOutageMs: num(env, "CHAOS_PG_OUTAGE_MS", 30_000, 1000, 600_000),
    replicaDownMs: num(env, "CHAOS_REPLICA_DOWN_MS", 8000, 0, 600_000),
    redisDownMs: num(env, "CHAOS_REDIS_DOWN_MS", 3000, 0, 600_000),
    leaseMs,
    // Three leases: the lease runs out, another replica's tick (every lease/3) takes it, and the
    // new leader acts for a while before the old one wakes up.
    pauseMs: num(env, "CHAOS_PAUSE_MS", 3 * leaseMs, leaseMs + 1, 600_000),
    drainMs: num(env, "CHAOS_DRAIN_MS", 120_000, 5000, 3_600_000),
    evidenceMs: num(env, "CHAOS_EVIDENCE_MS", 20_000, 1000, 600_000),
    workerAgents: Math.floor(num(env, "CHAOS_WORKER_AGENTS", 3, 2, 50)),
    workerConcurrency: Math.floor(num(env, "CHAOS_WORKER_CONCURRENCY", 4, 1, 1000)),
    workerWorkMs: num(env, "CHAOS_WORKER_WORK_MS", 200, 0, 60_000),
    rounds: Math.floor(num(env, "CHAOS_ROUNDS", 2, 1, 20)),
    outDir: env["CHAOS_OUT_DIR"] || undefined,
  };
}

export interface PlannedFault {
  kind: FaultKind;
  /** Offset from the start of the load, ms. */
  atMs: number;
}

/** Roughly how long each fault kind takes from injection to recovery (restart times are measured, not planned). */
export function faultLengthMs(kind: FaultKind, c: ChaosConfig): number {
  switch (kind) {
    case "agent-kill":
      return 0;
    case "leader-kill":
    case "replica-kill":
      return c.replicaDownMs;
    case "redis-restart":
      return c.redisDownMs;
    case "postgres-stop":
      return c.postgresOutageMs;
    case "leader-pause":
      return c.pauseMs;
  }
}

/**
 * Every fault kind `rounds` times, in FAULT_KINDS order, spread evenly over the load: the gaps are
 * what is left of `loadMs` after the faults' own lengths. Faults run one after the other (each
 * starts after the previous one recovered, see the orchestrator), so these offsets are the
 * earliest start times.
 */
export function buildTimeline(c: ChaosConfig): PlannedFault[] {
  const kinds: FaultKind[] = [];
  for (let r = 0; r < c.rounds; r++) kinds.push(...FAULT_KINDS);
  const busy = kinds.reduce((sum, k) => sum + faultLengthMs(k, c), 0);
  const gap = Math.max(0, (c.loadMs - busy) / (kinds.length + 1));
  const plan: PlannedFault[] = [];
  let at = gap;
  for (const kind of kinds) {
    plan.push({ kind, atMs: Math.round(at) });
    at += faultLengthMs(kind, c) + gap;
  }
  return plan;
}
