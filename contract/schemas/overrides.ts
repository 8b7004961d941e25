import { type Static, Type } from "typebox";
import { Uuid } from "./common.ts";

/** Emergency overrides (docs/overrides.md): dry run, confirm, execute, undo, list. */

export const OVERRIDE_ACTIONS = [
  "stop_all_tasks",
  "restart_all_agents",
  "clear_task_queue",
  "system_maintenance",
] as const;
export type OverrideAction = (typeof OVERRIDE_ACTIONS)[number];

/** `done` is a one-shot action that completed when executed (restart_all_agents): nothing to undo. */
export const OVERRIDE_STATES = ["active", "done", "undone", "expired"] as const;
export type OverrideState = (typeof OVERRIDE_STATES)[number];

const Time = Type.String({ format: "date-time" });
const Count = Type.Integer({ minimum: 0 });
// No NUL: Postgres text cannot hold it, and the audit insert must not fail after the action ran.
const Reason = Type.String({ minLength: 1, maxLength: 2_000, pattern: "^[^\\u0000]*$" });

export const OverrideBody = Type.Object({
  action: Type.Enum(OVERRIDE_ACTIONS),
  reason: Reason,
  expiresInMs: Type.Optional(Type.Integer()),
  confirmationToken: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
});
export const OverridesQuery = Type.Object({
  state: Type.Optional(Type.Enum(OVERRIDE_STATES)),
  limit: Type.Optional(Type.String({ pattern: "^[1-9][0-9]{0,2}$" })),
});
export const UndoBody = Type.Object({ reason: Reason });

/** What a dry run predicts, by action. */
export const OverrideImpact = Type.Union([
  Type.Object({
    claimsPaused: Type.Literal(true),
    queuedTasksHeld: Count,
    activeTasksUnaffected: Count,
    note: Type.String(),
  }),
  Type.Object({ agentsToRestart: Count, leasesToRelease: Count, note: Type.String() }),
  Type.Object({
    tasksToArchive: Count,
    byType: Type.Record(Type.String(), Count),
    note: Type.String(),
  }),
  Type.Object({
    submitsRefused: Type.Literal(true),
    queuedTasks: Count,
    activeTasks: Count,
    liveAgents: Count,
    note: Type.String(),
  }),
]);
export type OverrideImpact = Static<typeof OverrideImpact>;

/** An override as kept in Postgres. */
export const OverrideView = Type.Object({
  id: Uuid,
  action: Type.Enum(OVERRIDE_ACTIONS),
  state: Type.Enum(OVERRIDE_STATES),
  reason: Type.String(),
  actor: Type.String(),
  startedAt: Time,
  expiresAt: Type.Union([Time, Type.Null()]),
  endedAt: Type.Union([Time, Type.Null()]),
  endedBy: Type.Union([Type.String(), Type.Null()]),
  impact: Type.Record(Type.String(), Type.Unknown(), {
    description:
      "the dry run's prediction, plus what happened: archived and restored (clear_task_queue), applied (restart_all_agents)",
  }),
});
export type OverrideView = Static<typeof OverrideView>;

export const OverrideDryRun = Type.Object({
  dryRun: Type.Literal(true),
  action: Type.Enum(OVERRIDE_ACTIONS),
  impact: OverrideImpact,
  confirmationToken: Type.String({ description: "send it back within its expiry to execute" }),
  confirmationExpiresAt: Time,
});
export const OverrideExecuted = Type.Object({ dryRun: Type.Literal(false), override: OverrideView });
export const OverrideReply = Type.Union([OverrideDryRun, OverrideExecuted]);
export type OverrideReply = Static<typeof OverrideReply>;

export const OverrideListReply = Type.Object({ overrides: Type.Array(OverrideView) });
export const UndoReply = Type.Object({ override: OverrideView });
