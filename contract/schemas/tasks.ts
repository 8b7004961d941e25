import { Type } from "typebox";
import { LeaseToken, MAX_PRIORITY, TaskType, Uuid } from "./common.ts";

/** Submitting tasks, and the lease holder's reports: progress, complete, fail, release. */

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
