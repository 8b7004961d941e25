import { type Static, type TSchema, Type } from "typebox";
import { Uuid } from "./common.ts";
import { Lifecycle } from "./health.ts";
import { OverrideView } from "./overrides.ts";

/**
 * `GET /api/dashboard/system/health` (docs/probes.md): each component of the system with its
 * status, how long its check took and what it saw, a 0..100 score and the active overrides. A
 * component's `detail` has one shape per component, or `{error}` when its check failed or took
 * longer than 2 s (the component is then `down`).
 */

/** `unknown`: the component could not be judged (left out of the score). */
export const COMPONENT_STATUSES = ["ok", "degraded", "down", "unknown"] as const;
export type ComponentStatus = (typeof COMPONENT_STATUSES)[number];
/** The overall status: a component's, without `unknown`. */
export const SYSTEM_STATUSES = ["ok", "degraded", "down"] as const;
export type SystemStatus = (typeof SYSTEM_STATUSES)[number];

/**
 * The canary's task type of a role is this prefix and the role (`overseer.canary.<role>`): every
 * SDK agent of the role registers a handler for it unless told not to.
 */
export const CANARY_TYPE_PREFIX = "overseer.canary.";

/** The task type of the canary of `role`. */
export function canaryTaskType(role: string): string {
  return `${CANARY_TYPE_PREFIX}${role}`;
}

/** How a canary run ended. */
export const PROBE_OUTCOMES = ["success", "failed", "timeout"] as const;

const Time = Type.String({ format: "date-time" });
const Count = Type.Integer({ minimum: 0 });
const Closed = { additionalProperties: false } as const;

/** The detail of a component whose check failed or timed out. */
const CheckFailed = Type.Object(
  { error: Type.String({ description: "why the check failed, or that it took longer than 2 s" }) },
  Closed,
);
/** The detail of a component that was not checked, saying why. */
const NotChecked = Type.Object({ message: Type.String() }, Closed);

/** One component: `detail` is its own shape, or `{error}` (listed first: the serializer takes the first match). */
function component<D extends TSchema[]>(description: string, ...details: D) {
  return Type.Object(
    {
      status: Type.Enum(COMPONENT_STATUSES),
      latencyMs: Type.Union([Type.Number(), Type.Null()], {
        description: "how long the check took; null when it made no call",
      }),
      detail: Type.Union([CheckFailed, ...details]),
    },
    { description },
  );
}

/** The last canary result of a role, kept in Redis so every replica's health read sees it. */
export const CanaryResult = Type.Object({
  role: Type.String(),
  outcome: Type.Enum(PROBE_OUTCOMES),
  durationMs: Count,
  detail: Type.String({ description: "answered, or why the canary failed or timed out" }),
  taskId: Type.Union([Uuid, Type.Null()]),
  at: Time,
});
export type CanaryResult = Static<typeof CanaryResult>;

/** A loop that reported an error within the last minute. */
export const LoopErrors = Type.Object({
  lastErrorAt: Time,
  lastError: Type.String(),
  errorsSinceStart: Count,
});

/** An override in force (docs/overrides.md): the override's view without its end. */
export const ActiveOverride = Type.Pick(OverrideView, [
  "id",
  "action",
  "reason",
  "actor",
  "state",
  "startedAt",
  "expiresAt",
  "impact",
]);
export type ActiveOverride = Static<typeof ActiveOverride>;

export const SystemHealthComponents = Type.Object({
  postgres: component(
    "Postgres answers; degraded while a migration is not applied",
    Type.Object({ migrationsPending: Type.Array(Type.String()) }, Closed),
  ),
  redis: component("Redis answers", Type.Object({}, Closed)),
  leader: component(
    "A replica holds the leader lease; down when none does",
    Type.Object(
      {
        replicaId: Type.String(),
        epoch: Type.Integer({ description: "the lease's fencing epoch" }),
        isThisReplica: Type.Boolean(),
        leaseRemainingMs: Type.Integer({ description: "Redis PTTL of the lease" }),
      },
      Closed,
    ),
    Type.Object({ leader: Type.Null(), message: Type.String() }, Closed),
  ),
  loops: component(
    "Background loops; degraded while one reported an error within the last minute",
    Type.Object(
      {
        lifecycle: Lifecycle,
        failingInLastMinute: Type.Record(Type.String(), LoopErrors, { description: "by loop name" }),
      },
      Closed,
    ),
  ),
  agents: component(
    "Agents by role and state; down when no recently seen role has an active agent",
    Type.Object(
      {
        byRole: Type.Record(Type.String(), Type.Record(Type.String(), Count), {
          description: "role → agent state → agents (agents seen within the hour, and every live one)",
        }),
      },
      Closed,
    ),
  ),
  queues: component(
    "Unfinished tasks; degraded when claimable work waits longer than degradedAfterSeconds",
    Type.Object(
      {
        ready: Count,
        delayed: Count,
        active: Count,
        oldestReadyAgeSeconds: Type.Number(),
        degradedAfterSeconds: Type.Number(),
      },
      Closed,
    ),
  ),
  canary: component(
    "The synthetic canary per role; unknown while disabled or before any ran",
    Type.Object({ roles: Type.Array(CanaryResult), message: Type.Optional(Type.String()) }, Closed),
    NotChecked,
  ),
  eventLoop: component(
    "Event-loop delay of this replica (p99 above 0.1 s degraded, above 1 s down)",
    Type.Object(
      {
        p99Seconds: Type.Union([Type.Number(), Type.Null()]),
        meanSeconds: Type.Union([Type.Number(), Type.Null()]),
        maxSeconds: Type.Union([Type.Number(), Type.Null()]),
      },
      Closed,
    ),
  ),
  overrides: component(
    "Active overrides (an operator's choice: shown, never scored)",
    Type.Object({ active: Count, actions: Type.Array(Type.String()) }, Closed),
    NotChecked,
  ),
});
export type SystemHealthComponents = Static<typeof SystemHealthComponents>;

export const SystemHealthReport = Type.Object({
  status: Type.Enum(SYSTEM_STATUSES, {
    description:
      "down when Postgres or Redis is down or the score is below 50; degraded when any component is",
  }),
  score: Type.Integer({
    minimum: 0,
    maximum: 100,
    description: "components weighted, unknown ones left out",
  }),
  components: SystemHealthComponents,
  overrides: Type.Array(ActiveOverride),
  checkedAt: Time,
});
export type SystemHealthReport = Static<typeof SystemHealthReport>;
