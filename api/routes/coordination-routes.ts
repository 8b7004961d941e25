import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { COORDINATION_ROUTES as R } from "../../contract/routes/coordination.ts";
import type { Caller } from "../../daemon/coordination/coordination-service.ts";
import type { ApiDeps } from "../api-deps.ts";
import { routeOptions } from "../route-options.ts";
import { actorOf } from "./pipeline-routes.ts";

/** Who asked, and the request id the audit log keeps (api/request-id.ts). */
function callerOf(request: FastifyRequest): Caller {
  return { actor: actorOf(request), requestId: request.id };
}

/** Coordination reads and levers under /api/dashboard (docs/coordination.md). */
export function coordinationRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  // Read when a request comes, not when the routes are built (the OpenAPI document builds them without services).
  const reads = () => deps.coordination.reads;
  const levers = () => deps.coordination.levers;
  return async (app) => {
    app.route({ ...routeOptions(R.successRate), handler: async () => reads().successRate() });

    app.route({
      ...routeOptions(R.failures),
      handler: async (request) => reads().failures(request.query.window ?? "24h"),
    });

    app.route({ ...routeOptions(R.diagnostics), handler: async () => reads().diagnostics() });

    app.route({
      ...routeOptions(R.reset),
      handler: async (request) => levers().reset(request.body, callerOf(request)),
    });

    app.route({
      ...routeOptions(R.errorLog),
      handler: async (request) =>
        reads().errorLog(request.query.window ?? "1h", Math.min(1_000, Number(request.query.limit ?? 100))),
    });

    app.route({ ...routeOptions(R.distribution), handler: async () => reads().distribution() });

    app.route({
      ...routeOptions(R.reassign),
      handler: async (request) => levers().reassign(request.params.id, request.body, callerOf(request)),
    });

    app.route({
      ...routeOptions(R.retry),
      handler: async (request) =>
        deps.tasks.retryByOperator(request.params.id, request.body, callerOf(request)),
    });

    app.route({
      ...routeOptions(R.agentMetrics),
      handler: async (request) => reads().agentMetrics(request.params.id),
    });
  };
}
