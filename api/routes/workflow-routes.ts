import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { WORKFLOW_ROUTES as R } from "../../contract/routes/workflow.ts";
import type { ApiDeps } from "../api-deps.ts";
import { routeOptions } from "../route-options.ts";

/** History, details, statistics, step performance and the pending queue of pipeline runs (viewer). */
export function workflowRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    const w = deps.workflow;

    app.route({
      ...routeOptions(R.history),
      handler: async (request) => {
        const q = request.query;
        return w.history({
          ...q,
          limit: Math.min(500, Number(q.limit ?? 50)),
          offset: Number(q.offset ?? 0),
        });
      },
    });
    app.route({
      ...routeOptions(R.statistics),
      handler: async (request) => w.statistics(request.query),
    });
    app.route({
      ...routeOptions(R.performance),
      handler: async (request) => w.performance(request.query),
    });
    app.route({
      ...routeOptions(R.pending),
      handler: async (request) =>
        w.pending({ ...request.query, limit: Math.min(1_000, Number(request.query.limit ?? 100)) }),
    });
    app.route({
      ...routeOptions(R.details),
      handler: async (request) => w.details(request.params.id),
    });
  };
}
