import { Type } from "typebox";
import { TASK_TYPE_PATTERN } from "../daemon/dispatch/redis-keys.ts";
import { MAX_PRIORITY } from "../daemon/dispatch/task-queues.ts";
import { ERROR_CODES } from "../daemon/errors/error-codes.ts";

/** Request and response schemas; they validate input and feed the OpenAPI document at /docs. */
export const Uuid = Type.String({
  pattern: "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
});
const Name = Type.String({ minLength: 1, maxLength: 128 });
const TaskType = Type.String({ pattern: TASK_TYPE_PATTERN, description: "1–64 of A–Z a–z 0–9 . _ -" });
// At most 18 digits: always within Postgres bigint, so a hostile token is a 409, never an overflow.
const LeaseToken = Type.String({ pattern: "^[0-9]{1,18}$", description: "fencing token from the claim" });

export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String({ description: `one of ${Object.keys(ERROR_CODES).join(", ")}` }),
    message: Type.String(),
    details: Type.Optional(Type.Unknown()),
  }),
});

export const IdParams = Type.Object({ id: Uuid });

export const RegisterBody = Type.Object({
  name: Name,
  role: Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$" }),
  capabilities: Type.Array(TaskType, { maxItems: 64 }),
  concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000 })),
});
export const RegisterReply = Type.Object({
  id: Uuid,
  token: Type.String(),
  heartbeatIntervalMs: Type.Integer(),
  leaseTimeoutMs: Type.Integer({ description: "silence after which the agent is declared dead" }),
});

export const HeartbeatBody = Type.Object({
  status: Type.Optional(Type.Union([Type.Literal("active"), Type.Literal("draining")])),
  activeTaskIds: Type.Optional(Type.Array(Uuid, { maxItems: 10_000 })),
  load: Type.Optional(Type.Number({ minimum: 0 })),
});
export const HeartbeatReply = Type.Object({ commands: Type.Array(Type.Unknown()) });

export const ClaimBody = Type.Object({
  max: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000 })),
  waitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 300_000 })),
});
export const ClaimedTask = Type.Object({
  id: Uuid,
  type: Type.String(),
  payload: Type.Unknown(),
  attempt: Type.Integer(),
  leaseToken: Type.String(),
  timeoutMs: Type.Integer(),
  traceparent: Type.Optional(
    Type.String({
      description:
        "W3C traceparent of the daemon's span for this attempt, when the daemon traces: make the handler's span its child (docs/tracing.md)",
    }),
  ),
});
export const ClaimReply = Type.Object({ tasks: Type.Array(ClaimedTask) });

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
export const FailBody = Type.Object({
  leaseToken: LeaseToken,
  traceparent: Type.Optional(Traceparent),
  error: Type.Object({
    message: Type.String({ minLength: 1, maxLength: 10_000 }),
    category: Type.Optional(Type.String({ pattern: "^[a-z][a-z0-9_]{0,39}$" })),
    retryable: Type.Optional(Type.Boolean()),
  }),
});
export const ReleaseBody = Type.Object({ leaseToken: LeaseToken });
export const Ok = Type.Object({ ok: Type.Boolean() });
/** A JSON document whose shape is described in the docs rather than enforced by the serializer. */
export const AnyJson = Type.Unknown();
