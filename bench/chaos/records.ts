// What a chaos run collects for the checker: the clients' own records (submitter, agents), the
// fault log, the metric scrapes, and what Postgres holds at the end. Plain data (JSON-able).
import type { FaultKind } from "./config.ts";
import type { Series } from "./prom-text.ts";

/** A submission the client got a 2xx/202 for: the daemon accepted it. */
export interface Accepted {
  kind: "task" | "run";
  /** The idempotency key the client sent (the same on every retry of this submission). */
  key: string;
  id: string;
  /** Wall time of the accepting answer, ms since the epoch. */
  at: number;
  /** Index of the replica that answered. */
  replica: number;
  tries: number;
  deduplicated: boolean;
}

/** A submission the client gave up on without a 2xx (never accepted, so not owed). */
export interface Unresolved {
  kind: "task" | "run";
  key: string;
  at: number;
  tries: number;
  error: string;
}

/** One line of an agent's AGENT_REPORT_FILE (sdk/run-agent.ts): an outcome the daemon answered 2xx to. */
export interface AgentReport {
  event: string;
  taskId: string;
  leaseToken: string;
  at: number;
  agent: string;
}

/** One injected fault as it happened. */
export interface FaultRecord {
  kind: FaultKind;
  /** What was hit, in words ("replica 2 (leader, epoch 4)", "redis :41234", ...). */
  target: string;
  /** The replica hit, for replica faults. */
  replica?: number;
  /** Whether that replica held the lease when the fault began (from its own /metrics). */
  wasLeader?: boolean;
  /** Injection and recovery (restart ready, SIGCONT, Postgres accepting connections), ms since the epoch. */
  start: number;
  end: number;
  detail?: string;
  /**
   * Redis restarts only: a sentinel key written (and acknowledged) just before the SIGKILL, read back
   * after the restart, and the leader epoch counter either side (it must never go back).
   */
  redis?: { sentinelKept: boolean; epochBefore: number; epochAfter: number };
}

/** A replica process event the orchestrator did not plan (a crash) and its supervisor restart. */
export interface ProcessEvent {
  at: number;
  replica: number;
  what: "unplanned-exit" | "supervisor-restart";
  detail: string;
}

/** One scrape of one replica's /metrics (up=false: the scrape failed, as Prometheus' `up` 0). */
export interface Sample {
  t: number;
  replica: number;
  /** Which start of that replica's process (0 = first); counters restart from zero with each. */
  incarnation: number;
  up: boolean;
  error?: string;
  series: Series;
}

/** A row of the lead's `leader_terms` table, timestamps in ms since the epoch. */
export interface LeaderTerm {
  epoch: number;
  replicaId: string;
  acquiredAt: number;
  actions: number;
  firstActionAt: number | null;
  lastActionAt: number | null;
}

/** The daemon's own replica id (logged at start) of each process the orchestrator started. */
export interface Incarnation {
  replica: number;
  incarnation: number;
  replicaId: string | null;
  startedAt: number;
}

/** An agent the daemon declared dead, why, and the attempts its death ended (each ran again). */
export interface AgentDeath {
  agentId: string;
  name: string;
  /** `disconnect`: its session closed without a goodbye and no reconnect came within the grace. */
  cause: "disconnect" | "heartbeat" | "other";
  lostAttempts: number;
}

export interface ChaosRecords {
  /** When the steady load began (timeline offsets are relative to it). */
  loadStart: number;
  accepted: Accepted[];
  unresolved: Unresolved[];
  /** Every task row of the namespace at the end: id → state (pipeline step tasks included). */
  taskStates: Record<string, string>;
  /** Every pipeline run at the end: id → state. */
  runStates: Record<string, string>;
  /** Task id → attempts whose outcome is `completed` (only tasks with at least one). */
  completedAttempts: Record<string, number>;
  agentReports: AgentReport[];
  /** null when the table does not exist (the leader-fencing migration is not applied). */
  leaderTerms: LeaderTerm[] | null;
  /** Every agent death in Postgres (agent_transitions to `dead`). */
  deaths: AgentDeath[];
  faults: FaultRecord[];
  processEvents: ProcessEvent[];
  samples: Sample[];
  incarnations: Incarnation[];
}
