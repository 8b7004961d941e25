import { defineRoute } from "../route.ts";
import {
  AgentStatusQuery,
  AgentsStatusReply,
  HeartbeatsReply,
  TaskQueueQuery,
  TaskQueueReply,
} from "../schemas/dashboard.ts";

/**
 * The dashboards' reads of agents and queues, from Postgres and Redis, read at most once per
 * OVERSEER_DASHBOARD_SNAPSHOT_MS for each filter and shared meanwhile (viewer).
 */
const SNAPSHOT =
  "Read from Postgres and Redis at most once per OVERSEER_DASHBOARD_SNAPSHOT_MS (1 s by default) for each query, and shared by every request meanwhile; generatedAt says when it was read.";

export const DASHBOARD_ROUTES = {
  agentsStatus: defineRoute({
    method: "GET",
    url: "/api/dashboard/agents/status",
    operationId: "getAgentsStatus",
    summary: "Agents with liveness, load, health score and the last hour's outcomes; counts by state",
    description: SNAPSHOT,
    tag: "dashboard",
    auth: "viewer",
    querystring: AgentStatusQuery,
    replies: { 200: AgentsStatusReply },
  }),
  heartbeats: defineRoute({
    method: "GET",
    url: "/api/dashboard/agents/heartbeat",
    operationId: "getAgentHeartbeats",
    summary: "Live agents' heartbeat ages, longest silent first, with the liveness settings",
    description: SNAPSHOT,
    tag: "dashboard",
    auth: "viewer",
    replies: { 200: HeartbeatsReply },
  }),
  taskQueue: defineRoute({
    method: "GET",
    url: "/api/dashboard/tasks/queue",
    operationId: "getTaskQueue",
    summary:
      "Unfinished tasks by type and state (ready, delayed, active, failed, dead) with the oldest's age",
    description: SNAPSHOT,
    tag: "dashboard",
    auth: "viewer",
    querystring: TaskQueueQuery,
    replies: { 200: TaskQueueReply },
  }),
};
