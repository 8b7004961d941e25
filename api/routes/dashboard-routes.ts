import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { DASHBOARD_ROUTES as R } from "../../contract/routes/dashboard.ts";
import type { ApiDeps } from "../api-deps.ts";
import { routeOptions } from "../route-options.ts";

/** Reads the dashboards of the systems Overseer replaces already call (viewer role). */
export function dashboardRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.route({
      ...routeOptions(R.agentsStatus),
      handler: async (request) => {
        const q = request.query;
        return deps.dashboard.agentsStatus({
          role: q.role,
          state: q.state,
          includeEnded: q.includeEnded === "true",
          limit: q.limit ? Number(q.limit) : 1_000,
        });
      },
    });
    app.route({ ...routeOptions(R.heartbeats), handler: async () => deps.dashboard.heartbeats() });
    app.route({
      ...routeOptions(R.taskQueue),
      handler: async (request) =>
        deps.dashboard.taskQueue({ type: request.query.type, state: request.query.state }),
    });
  };
}
