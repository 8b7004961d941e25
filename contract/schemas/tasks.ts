import { Type } from "typebox";
import { LeaseToken, MAX_PRIORITY, TaskType, Uuid } from "./common.ts";

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
  result: Type.Optional(Type.Unknown({ description: "what the agent completed it with" })),
  error: Type.Optional(Type.Unknown({ description: "the last error" })),
  deadReason: Type.Optional(Type.String()),
  leaseAgentId: Type.Union([Uuid, Type.Null()]),
  nextAttemptAt: Type.Union([Time, Type.Null()], { description: "when a queued task becomes claimable" }),
  createdAt: Time,
  updatedAt: Time,
  finishedAt: NullableTime,
});
