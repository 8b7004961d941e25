import { type Static, Type } from "typebox";
import { figureNote } from "../figures.ts";
import { AGENT_STATES } from "./agents.ts";
import { MAX_PRIORITY, Uuid } from "./common.ts";

/** Coordination reads and levers (docs/coordination.md): success rates, failures, diagnostics, resets. */

const Time = Type.String({ format: "date-time" });
// Every rate here is the figure attempt_success_rate (contract/figures.ts) over its window.
const Rate = Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], {
  description: figureNote("attempt_success_rate"),
});
const Count = Type.Integer({ minimum: 0 });
const NullableString = Type.Union([Type.String(), Type.Null()]);
/** Times of the loop status are Date.now() milliseconds. */
const EpochMs = Type.Union([Type.Number(), Type.Null()]);

/** Failure classes, in the documented precedence of the classifier. */
export const FAILURE_CLASSES = [
  "redis_connection",
  "serialization",
  "timeout",
  "lost_agent",
  "llm_provider",
  "validation",
  "budget",
  "unknown",
] as const;
export const RESET_LEVELS = ["soft", "hard", "full"] as const;
export type ResetLevel = (typeof RESET_LEVELS)[number];
export const FAILURE_WINDOW_NAMES = ["1h", "24h", "7d"] as const;
export const LOG_WINDOW_NAMES = ["5m", "1h", "24h", "7d"] as const;
export const TRENDS = ["improving", "declining", "stable"] as const;

// No NUL: Postgres text cannot hold it, and the audit insert must not fail after the action ran.
const Reason = Type.String({ minLength: 1, maxLength: 1_000, pattern: "^[^\\u0000]*$" });
const ConfirmationToken = Type.String({ minLength: 1, maxLength: 200 });

// ---- inputs ----

export const FailuresQuery = Type.Object({ window: Type.Optional(Type.Enum(FAILURE_WINDOW_NAMES)) });
export const ErrorLogQuery = Type.Object({
  window: Type.Optional(Type.Enum(LOG_WINDOW_NAMES)),
  limit: Type.Optional(Type.String({ pattern: "^[1-9][0-9]{0,3}$" })),
});
export const ResetBody = Type.Object({
  level: Type.Enum(RESET_LEVELS),
  reason: Reason,
  confirmationToken: Type.Optional(ConfirmationToken),
});
export const ReassignBody = Type.Object({ agentId: Type.Optional(Uuid), reason: Reason });
export const RetryBody = Type.Object({
  reason: Type.Optional(Reason),
  priorityBoost: Type.Optional(Type.Integer({ minimum: -MAX_PRIORITY, maximum: MAX_PRIORITY })),
});

// ---- success rate ----

const OutcomeBreakdown = Type.Object({ failed: Count, timedOut: Count, lost: Count });

/** One window of ended attempts against the window of the same length just before it. */
export const SuccessWindow = Type.Object({
  windowMs: Type.Integer(),
  completed: Count,
  failed: Type.Integer({ minimum: 0, description: "failed + timedOut + lost" }),
  byOutcome: OutcomeBreakdown,
  ended: Count,
  rate: Rate,
  previous: Type.Object({ completed: Count, failed: Count, rate: Rate }),
  delta: Type.Union([Type.Number(), Type.Null()]),
  trend: Type.Union([Type.Enum(TRENDS), Type.Null()], {
    description: "null with fewer than 5 ended attempts in either window",
  }),
});

export const SuccessRateReply = Type.Object({
  /** The last 5 minutes. */
  live: SuccessWindow,
  windows: Type.Object({ "1h": SuccessWindow, "24h": SuccessWindow, "7d": SuccessWindow }),
  hourly: Type.Array(Type.Object({ hourStart: Time, completed: Count, failed: Count, rate: Rate }), {
    description: "the last 24 hours, oldest first; the current hour last",
  }),
  checkedAt: Time,
});

// ---- failures ----

/** A failed attempt as an example of its class (the message cut to 500 characters). */
export const FailureExample = Type.Object({
  taskId: Uuid,
  type: Type.String(),
  message: NullableString,
  at: Time,
});

export const FailuresReply = Type.Object({
  window: Type.Enum(FAILURE_WINDOW_NAMES),
  windowMs: Type.Integer(),
  total: Count,
  unclassified: Type.Integer({
    minimum: 0,
    description: "failures in more distinct groups than one read takes: counted in total only",
  }),
  classes: Type.Array(
    Type.Object({
      class: Type.Enum(FAILURE_CLASSES),
      count: Count,
      share: Type.Union([Type.Number(), Type.Null()]),
      examples: Type.Array(FailureExample, { description: "the 5 latest" }),
      recommendation: Type.String(),
    }),
  ),
});

// ---- error log ----

export const ERROR_EVENT_KINDS = [
  "attempt_failed",
  "attempt_timed_out",
  "attempt_lost",
  "dead_letter",
  "operator_reassign",
] as const;

/** A failed attempt, a dead letter or an operator reassignment. */
export const ErrorEvent = Type.Object({
  kind: Type.Enum(ERROR_EVENT_KINDS),
  at: Time,
  taskId: Type.String(),
  type: NullableString,
  agentId: NullableString,
  outcome: Type.String(),
  category: NullableString,
  message: NullableString,
});
export type ErrorEvent = Static<typeof ErrorEvent>;

export const ErrorLogReply = Type.Object({
  window: Type.Enum(LOG_WINDOW_NAMES),
  limit: Type.Integer(),
  total: Count,
  groups: Type.Array(
    Type.Object({
      pattern: Type.String({ description: "a failure class, or operator_reassign" }),
      count: Count,
      latestAt: Time,
      events: Type.Array(ErrorEvent),
      recommendation: NullableString,
    }),
  ),
  sources: Type.Array(Type.String()),
});

// ---- distribution and agent metrics ----

export const DistributionReply = Type.Object({
  byState: Type.Record(Type.String(), Count),
  byType: Type.Record(Type.String(), Type.Record(Type.String(), Count), {
    description: "per task type: a count per state, and total",
  }),
  agents: Type.Array(
    Type.Object({
      agentId: Uuid,
      name: Type.String(),
      role: Type.String(),
      state: Type.Enum(AGENT_STATES),
      concurrency: Type.Integer(),
      leases: Count,
      load: Type.Number({ description: "leases / concurrency" }),
    }),
  ),
});

export const AgentWindow = Type.Object({
  completed: Count,
  failed: Type.Integer({ minimum: 0, description: "failed + timedOut + lost" }),
  byOutcome: OutcomeBreakdown,
  successRate: Rate,
  meanDurationMs: Type.Union([Type.Number(), Type.Null()]),
  meanCompletedDurationMs: Type.Union([Type.Number(), Type.Null()]),
});

export const AgentMetricsReply = Type.Object({
  agentId: Uuid,
  name: Type.String(),
  role: Type.String(),
  state: Type.Enum(AGENT_STATES),
  concurrency: Type.Integer(),
  currentLeases: Count,
  heartbeat: Type.Object({
    ageMs: Type.Number({ minimum: 0 }),
    source: Type.Enum(["redis", "postgres"] as const),
  }),
  windows: Type.Object({ "1h": AgentWindow, "24h": AgentWindow }),
});

// ---- diagnostics ----

export const StoreProbe = Type.Object({
  ok: Type.Boolean(),
  latencyMs: Type.Union([Type.Number(), Type.Null()]),
  error: Type.Optional(Type.String()),
});
export type StoreProbe = Static<typeof StoreProbe>;

export const QueueSnapshot = Type.Object({
  type: Type.String(),
  pgReady: Count,
  pgDelayed: Count,
  bull: Type.Union([Type.Object({ waiting: Count, delayed: Count, active: Count }), Type.Null()], {
    description: "the BullMQ entries (waiting includes prioritized); null when unreadable",
  }),
});

export const LoopStatus = Type.Object({
  name: Type.String(),
  intervalMs: Type.Number(),
  runs: Count,
  errors: Count,
  lastRunAt: EpochMs,
  lastSuccessAt: EpochMs,
  lastError: NullableString,
  lastErrorAt: EpochMs,
});
export type LoopStatus = Static<typeof LoopStatus>;

export const Finding = Type.Object({
  severity: Type.Enum(["info", "warning", "critical"] as const),
  component: Type.Enum(["queues", "leases", "agents", "stores", "loops"] as const),
  message: Type.String(),
  evidence: Type.Record(Type.String(), Type.Unknown(), { description: "what was seen; varies by finding" }),
});

export const DiagnosticsReply = Type.Object({
  status: Type.Enum(["ok", "warning", "critical"] as const),
  findings: Type.Array(Finding),
  checked: Type.Object({
    stores: Type.Object({ postgres: StoreProbe, redis: StoreProbe }),
    queues: Type.Array(QueueSnapshot),
    leases: Type.Object({
      active: Count,
      expired: Type.Object({ count: Count, oldestOverdueMs: Type.Number() }),
    }),
    agents: Count,
    loops: Type.Array(LoopStatus),
  }),
  checkedAt: Time,
});

// ---- reset ----

/** What a reset at its level would touch, predicted by the dry run (and kept with its token). */
export const ResetImpact = Type.Object({
  level: Type.Enum(RESET_LEVELS),
  steps: Type.Array(Type.String()),
  orphanedLeasesToRequeue: Count,
  queuedTasksToCheck: Count,
  leasesToRelease: Count,
  agentMirrorsToRebuild: Count,
  agentsToDrain: Count,
});
export type ResetImpact = Static<typeof ResetImpact>;

/** One reconciler pass (also run by itself on the leader). */
export const ReconcileReport = Type.Object({
  requeuedMissing: Count,
  orphanedLeases: Count,
  untrackedLeases: Count,
  restoredAgents: Count,
  flushedHeartbeats: Count,
});
export type ReconcileReport = Static<typeof ReconcileReport>;

/** What a reset did; each level adds to the one before it. */
export const ResetResult = Type.Object({
  reconcile: ReconcileReport,
  releasedLeases: Type.Optional(Count),
  mirrors: Type.Optional(Type.Object({ agents: Count, heartbeatsDropped: Count })),
  drainCommands: Type.Optional(Count),
});
export type ResetResult = Static<typeof ResetResult>;

export const ResetDryRun = Type.Object({
  dryRun: Type.Literal(true),
  action: Type.Literal("coordination.reset"),
  level: Type.Enum(RESET_LEVELS),
  impact: ResetImpact,
  confirmationToken: Type.String({ description: "send it back within its expiry to execute" }),
  confirmationExpiresAt: Time,
});
export const ResetDone = Type.Object({
  dryRun: Type.Literal(false),
  reset: Type.Object({
    level: Type.Enum(RESET_LEVELS),
    reason: Type.String(),
    actor: Type.String(),
    requestId: Type.String(),
    startedAt: Time,
    finishedAt: Time,
    impact: ResetImpact,
    result: ResetResult,
  }),
});
export const ResetReply = Type.Union([ResetDryRun, ResetDone]);
export type ResetReply = Static<typeof ResetReply>;

// ---- reassign and retry ----

export const ReassignReply = Type.Object({
  taskId: Uuid,
  type: Type.String(),
  fromAgentId: Type.Union([Uuid, Type.Null()]),
  toAgentId: Uuid,
  state: Type.Literal("queued"),
  reason: Type.String(),
});
export type ReassignReply = Static<typeof ReassignReply>;

/** An operator retry: the task is queued again with a fresh attempt budget (audited as task.retry). */
export const RetryReply = Type.Object({
  taskId: Uuid,
  state: Type.Literal("queued"),
  type: Type.String(),
  from: Type.String({ description: "the state it was retried from: dead or failed" }),
  priorityBefore: Type.Integer(),
  priority: Type.Integer(),
});
export type RetryReply = Static<typeof RetryReply>;
