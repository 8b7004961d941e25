import { type Static, Type } from "typebox";
import { TaskType, Uuid } from "./common.ts";

/** The agent protocol's messages over HTTP: register, heartbeat (with commands back), claim. */

/** An agent's lifecycle states (daemon/agents/agent-state.ts has the transitions); dead and left are terminal. */
export const AGENT_STATES = ["active", "stale", "dead", "draining", "left"] as const;

export const RegisterBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128 }),
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

/** Status an agent reports in its heartbeats. */
export const AgentWireStatus = Type.Union([Type.Literal("active"), Type.Literal("draining")]);

export const HeartbeatBody = Type.Object({
  status: Type.Optional(AgentWireStatus),
  activeTaskIds: Type.Optional(Type.Array(Uuid, { maxItems: 10_000 })),
  load: Type.Optional(Type.Number({ minimum: 0 })),
});

/** Abort one task: its lease is gone, the agent must not report it. */
export const CancelCommand = Type.Object({
  type: Type.Literal("cancel"),
  taskId: Uuid,
  reason: Type.Optional(Type.String()),
});
/** Stop claiming, finish in-flight work, deregister. */
export const DrainCommand = Type.Object({
  type: Type.Literal("drain"),
  reason: Type.Optional(Type.String()),
});
/** Drain, then ask the process manager for a restart. */
export const RestartCommand = Type.Object({
  type: Type.Literal("restart"),
  reason: Type.Optional(Type.String()),
  /** The emergency override (restart_all_agents) that sent it, if any. */
  overrideId: Type.Optional(Uuid),
});
/** Commands the daemon piggybacks on heartbeat answers. */
export const Command = Type.Union([CancelCommand, DrainCommand, RestartCommand]);
export type AgentCommand = Static<typeof Command>;
/** A command of a type this version of the protocol does not know: agents ignore it. */
export const UnknownCommand = Type.Object({ type: Type.String() }, { additionalProperties: true });

export const HeartbeatReply = Type.Object({
  commands: Type.Array(Type.Union([Command, UnknownCommand]), {
    description: "cancel, drain or restart; an agent ignores types it does not know",
  }),
});

export const ClaimBody = Type.Object({
  max: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000 })),
  waitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 300_000 })),
});
/** A task leased to the claiming agent. */
export const ClaimedTask = Type.Object({
  id: Uuid,
  type: Type.String(),
  payload: Type.Unknown(),
  attempt: Type.Integer(),
  leaseToken: Type.String({ description: "fencing token: every report about this task must carry it" }),
  timeoutMs: Type.Integer(),
  traceparent: Type.Optional(
    Type.String({
      description:
        "W3C traceparent of the daemon's span for this attempt, when the daemon traces: make the handler's span its child (docs/tracing.md)",
    }),
  ),
});
export const ClaimReply = Type.Object({ tasks: Type.Array(ClaimedTask) });
