import { Type } from "typebox";
import { LeaseToken, MAX_PRIORITY, TaskType, Uuid } from "./common.ts";
import { NextBefore, pageQuery, Total } from "./paging.ts";

/** Submitting and reading tasks, and the lease holder's reports: progress, complete, fail, release. */

/**
 * Task states. `queued` covers both "ready now" and "waiting out a retry delay" (see nextAttemptAt);
 * `failed` is terminal because the agent said retrying cannot help (retryable: false); `dead` is the
 * dead-letter state after the last allowed attempt. An operator may retry either. `cancelled` is
 * terminal: the pipeline that owned the task was cancelled or skipped the step.
 */
export const TASK_STATES = ["queued", "active", "completed", "failed", "dead", "cancelled"] as const;
export type TaskState = (typeof TASK_STATES)[number];
/** What a read can show: the states above, or `archived` (parked by a clear_task_queue override). */
export const TASK_VIEW_STATES = [...TASK_STATES, "archived"] as const;
export type TaskViewState = (typeof TASK_VIEW_STATES)[number];

/** How an attempt ended. `released` does not count against maxAttempts. */
export const ATTEMPT_OUTCOMES = [
  "completed",
  "failed",
  "timed_out",
  "lost",
  "released",
  "cancelled",
] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

export const SubmitBody = Type.Object({
  type: TaskType,
  payload: Type.Unknown(),
  priority: Type.Optional(
    Type.Integer({ minimum: 0, maximum: MAX_PRIORITY, description: "higher runs first" }),
  ),
  maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000 })),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 7 * 86_400_000 })),
  idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
});
export const SubmitReply = Type.Object({
  id: Uuid,
  state: Type.String(),
  deduplicated: Type.Boolean({ description: "true when the idempotencyKey matched an existing task" }),
});

/** The most tasks one batch submit takes: one transaction, and an answer a client can hold. */
export const MAX_BATCH_TASKS = 1_000;
export const SubmitBatchBody = Type.Object({
  tasks: Type.Array(SubmitBody, {
    minItems: 1,
    maxItems: MAX_BATCH_TASKS,
    description: "each as the body of POST /api/tasks",
  }),
});
export const SubmitBatchReply = Type.Object({
  tasks: Type.Array(SubmitReply, { description: "one per submitted task, in the order submitted" }),
});

export const ProgressBody = Type.Object({
  leaseToken: LeaseToken,
  percent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
  message: Type.Optional(Type.String({ maxLength: 2_000 })),
});
// Optional on complete and fail: the agent's handler span, recorded on the attempt (docs/tracing.md).
const Traceparent = Type.String({
  maxLength: 256,
  description: "W3C traceparent of the agent's span that handled the task",
});
export const CompleteBody = Type.Object({
  leaseToken: LeaseToken,
  result: Type.Optional(Type.Unknown()),
  traceparent: Type.Optional(Traceparent),
});
/** What went wrong in a failed attempt, as the agent reports it. */
export const TaskFailure = Type.Object({
  message: Type.String({ minLength: 1, maxLength: 10_000 }),
  category: Type.Optional(Type.String({ pattern: "^[a-z][a-z0-9_]{0,39}$" })),
  retryable: Type.Optional(Type.Boolean()),
});
export const FailBody = Type.Object({
  leaseToken: LeaseToken,
  traceparent: Type.Optional(Traceparent),
  error: TaskFailure,
});
export const ReleaseBody = Type.Object({ leaseToken: LeaseToken });

const Time = Type.String({ format: "date-time" });
const NullableTime = Type.Union([Time, Type.Null()]);

/** One lease of a task: who held it, when, and how it ended (null while it runs). */
export const AttemptView = Type.Object({
  attempt: Type.Integer(),
  agentId: Uuid,
  claimedAt: Time,
  finishedAt: NullableTime,
  outcome: Type.Union([Type.Enum(ATTEMPT_OUTCOMES), Type.Null()]),
  error: Type.Unknown({
    description: "the attempt's error as reported ({message, category, retryable}), or null",
  }),
});

/** A task with every attempt. Times are ISO 8601 (UTC). */
export const TaskView = Type.Object({
  id: Uuid,
  type: Type.String(),
  state: Type.Enum(TASK_VIEW_STATES),
  payload: Type.Unknown(),
  priority: Type.Integer(),
  maxAttempts: Type.Integer(),
  timeoutMs: Type.Integer(),
  idempotencyKey: Type.Union([Type.String(), Type.Null()]),
  attempts: Type.Array(AttemptView),
  failures: Type.Integer({ description: "attempts that counted against maxAttempts" }),
  progress: Type.Union(
    [
      Type.Object({
        percent: Type.Union([Type.Number(), Type.Null()]),
        message: Type.Union([Type.String(), Type.Null()]),
      }),
      Type.Null(),
    ],
    { description: "the lease holder's last report, while the task is active" },
  ),
  // Always present, null when there is none: a client reads `error === null`, not a missing key.
  result: Type.Unknown({ description: "what the agent completed it with; null until then" }),
  error: Type.Unknown({
    description: "the last error ({message, category, retryable}); null when there was none",
  }),
  deadReason: Type.Union([Type.String(), Type.Null()], { description: "why it was dead-lettered; or null" }),
  leaseAgentId: Type.Union([Uuid, Type.Null()]),
  nextAttemptAt: Type.Union([Time, Type.Null()], { description: "when a queued task becomes claimable" }),
  createdAt: Time,
  updatedAt: Time,
  finishedAt: NullableTime,
});

/**
 * `GET /api/tasks`: the operator's task list, newest first by (createdAt, id), paged by the
 * convention (docs/paging.md). Every filter is optional; they combine with AND before the limit.
 */
export const TaskListQuery = Type.Object(
  {
    state: Type.Optional(Type.Enum(TASK_VIEW_STATES)),
    type: Type.Optional(TaskType),
    /** Tasks this agent held a lease of (any attempt). */
    agentId: Type.Optional(Uuid),
    /** The tasks of this pipeline run's steps (every generation). */
    runId: Type.Optional(Uuid),
    createdAfter: Type.Optional(
      Type.String({ format: "date-time", description: "inclusive, ISO 8601 with an offset" }),
    ),
    createdBefore: Type.Optional(
      Type.String({ format: "date-time", description: "exclusive, ISO 8601 with an offset" }),
    ),
    ...pageQuery(),
  },
  { additionalProperties: false },
);

/** One task in the list: what it is and where it stands (GET /api/tasks/:id has payload and attempts). */
export const TaskSummary = Type.Object({
  id: Uuid,
  type: Type.String(),
  state: Type.Enum(TASK_VIEW_STATES),
  priority: Type.Integer(),
  attempts: Type.Integer({ description: "leases granted so far" }),
  failures: Type.Integer(),
  leaseAgentId: Type.Union([Uuid, Type.Null()]),
  createdAt: Time,
  updatedAt: Time,
  finishedAt: NullableTime,
});

export const TaskListReply = Type.Object({
  tasks: Type.Array(TaskSummary),
  total: Total,
  nextBefore: NextBefore,
});

const Reason = Type.String({ minLength: 1, maxLength: 2_000 });

export const CancelTaskBody = Type.Object({ reason: Type.Optional(Reason) }, { additionalProperties: false });

export const CancelTaskReply = Type.Object({
  taskId: Uuid,
  state: Type.Literal("cancelled"),
  from: Type.Enum(TASK_VIEW_STATES, { description: "the state it was cancelled from" }),
  leaseRevoked: Type.Boolean({ description: "true when an agent held it: its lease token no longer counts" }),
  agentId: Type.Union([Uuid, Type.Null()], { description: "the agent told to stop (a cancel command)" }),
});

export const PriorityBody = Type.Object(
  {
    priority: Type.Integer({ minimum: 0, maximum: MAX_PRIORITY, description: "higher runs first" }),
    reason: Type.Optional(Reason),
  },
  { additionalProperties: false },
);

export const PriorityReply = Type.Object({
  taskId: Uuid,
  state: Type.Literal("queued"),
  priorityBefore: Type.Integer(),
  priority: Type.Integer(),
});
