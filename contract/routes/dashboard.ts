import { defineRoute } from "../route.ts";
import {
  AgentStatusQuery,
  AgentsStatusReply,
  HeartbeatsReply,
  TaskQueueQuery,
  TaskQueueReply,
} from "../schemas/dashboard.ts";

/** The dashboards' reads of agents and queues, from Postgres and Redis at request time (viewer). */
export const DASHBOARD_ROUTES = {
  agentsStatus: defineRoute({
    method: "GET",
    url: "/api/dashboard/agents/status",
    operationId: "getAgentsStatus",
    summary: "Agents with liveness, load, health score and the last hour's outcomes; counts by state",
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
    tag: "dashboard",
    auth: "viewer",
    querystring: TaskQueueQuery,
    replies: { 200: TaskQueueReply },
  }),
};
