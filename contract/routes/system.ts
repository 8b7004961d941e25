import { defineRoute } from "../route.ts";
import { SystemHealthReport } from "../schemas/system.ts";

/** The system health read behind the dashboards (docs/probes.md). */
export const SYSTEM_ROUTES = {
  health: defineRoute({
    method: "GET",
    url: "/api/dashboard/system/health",
    operationId: "getSystemHealth",
    summary: "Per-component status and latency, a 0..100 score and the active overrides",
    description:
      "Each component (postgres, redis, leader, loops, agents, queues, canary, eventLoop, overrides) answers its status, how long its check took and what it saw; a check that fails or takes longer than 2 s makes it down with {error} (docs/probes.md).",
    tag: "dashboard",
    auth: "viewer",
    replies: { 200: SystemHealthReport },
  }),
};
