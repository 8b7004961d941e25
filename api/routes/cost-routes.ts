import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { COST_ROUTES as R } from "../../contract/routes/costs.ts";
import type { ApiDeps } from "../api-deps.ts";
import { routeOptions } from "../route-options.ts";

/** LLM cost, usage and the headline KPIs the dashboards read (viewer). */
export function costRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.route({ ...routeOptions(R.costs), handler: async (request) => deps.costs.costs(request.query) });
    app.route({
      ...routeOptions(R.byPhase),
      handler: async (request) => deps.costs.byPhase(request.query),
    });
    app.route({
      ...routeOptions(R.byModel),
      handler: async (request) => deps.costs.byModel(request.query),
    });
    app.route({
      ...routeOptions(R.history),
      handler: async (request) =>
        deps.costs.history({ ...request.query, bucket: request.query.bucket ?? "day" }),
    });
    app.route({ ...routeOptions(R.usage), handler: async (request) => deps.costs.usage(request.query) });
    app.route({
      ...routeOptions(R.kpis),
      handler: async (request) => deps.kpis.kpis(request.query.range ?? "30days"),
    });
  };
}
