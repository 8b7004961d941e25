import { type Static, Type } from "typebox";
import { AGENT_STATES } from "./agents.ts";
import { Uuid } from "./common.ts";

/** The dashboards' reads of agents and queues (`/api/dashboard/agents/*`, `/api/dashboard/tasks/queue`). */

/** Unfinished tasks by where they are: `queued` splits into ready now and delayed (a retry's wait). */
export const QUEUE_STATES = ["ready", "delayed", "active", "failed", "dead"] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

const Time = Type.String({ format: "date-time" });
const AgentState = Type.Enum(AGENT_STATES);
const Count = Type.Integer({ minimum: 0 });

export const AgentStatusQuery = Type.Object({
  role: Type.Optional(Type.String({ maxLength: 64 })),
  state: Type.Optional(Type.Union(AGENT_STATES.map((s) => Type.Literal(s)))),
  includeEnded: Type.Optional(Type.Union([Type.Literal("true"), Type.Literal("false")])),
  limit: Type.Optional(
    Type.String({
      pattern: "^[1-9][0-9]{0,4}$",
      description: "1 to 99999; 1000 when absent. Applied after the filters (docs/paging.md)",
    }),
  ),
});

export const TaskQueueQuery = Type.Object({
  type: Type.Optional(Type.String({ maxLength: 64 })),
  state: Type.Optional(Type.Union(QUEUE_STATES.map((s) => Type.Literal(s)))),
});

/** One agent with its liveness, load and health score. */
export const AgentStatusView = Type.Object({
  id: Uuid,
  name: Type.String(),
  role: Type.String(),
  state: AgentState,
  capabilities: Type.Array(Type.String()),
  concurrency: Type.Integer(),
  load: Type.Union([Type.Number(), Type.Null()], {
    description: "the last heartbeat's load; null before one",
  }),
  heartbeatAgeMs: Type.Union([Type.Number(), Type.Null()], { description: "null for an agent that ended" }),
  lastHeartbeatAt: Type.Union([Time, Type.Null()]),
  registeredAt: Time,
  stateChangedAt: Time,
  healthScore: Type.Integer({
    minimum: 0,
    maximum: 100,
    description: "heartbeat regularity and latency, and the last hour's task outcomes",
  }),
  recent: Type.Object(
    { completed: Count, failed: Count },
    { description: "task attempts finished in the last hour" },
  ),
});
export type AgentStatusView = Static<typeof AgentStatusView>;

export const AgentsStatusReply = Type.Object({
  generatedAt: Time,
  total: Type.Integer({
    minimum: 0,
    description: "every agent the filters match, however many the limit let through",
  }),
  byState: Type.Record(Type.String(), Count, { description: "agents listed, by state (absent: none)" }),
  agents: Type.Array(AgentStatusView),
});
export type AgentsStatusReply = Static<typeof AgentsStatusReply>;

export const HeartbeatsReply = Type.Object({
  generatedAt: Time,
  heartbeatIntervalMs: Type.Integer(),
  staleAfterMs: Type.Integer(),
  deadAfterMs: Type.Integer(),
  agents: Type.Array(
    Type.Object({
      id: Uuid,
      name: Type.String(),
      role: Type.String(),
      state: AgentState,
      heartbeatAgeMs: Type.Number({ minimum: 0 }),
    }),
    { description: "live agents, longest silent first" },
  ),
  stale: Type.Array(Uuid, { description: "the ids of the stale agents" }),
});
export type HeartbeatsReply = Static<typeof HeartbeatsReply>;

/** Depth and oldest age of unfinished tasks of one type and state. */
export const QueueStat = Type.Object({
  type: Type.String(),
  state: Type.Enum(QUEUE_STATES),
  count: Count,
  oldestAgeSeconds: Type.Number({ minimum: 0 }),
});
export type QueueStat = Static<typeof QueueStat>;

export const TaskQueueReply = Type.Object({
  generatedAt: Time,
  totals: Type.Record(Type.String(), Count, { description: "tasks by state (absent: none)" }),
  queues: Type.Array(QueueStat, { description: "by type, then state" }),
});
export type TaskQueueReply = Static<typeof TaskQueueReply>;
