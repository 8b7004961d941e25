import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { OVERRIDE_ROUTES as R } from "../../contract/routes/overrides.ts";
import type { ApiDeps } from "../api-deps.ts";
import { routeOptions } from "../route-options.ts";
import { actorOf } from "./pipeline-routes.ts";

/** Emergency overrides (docs/overrides.md): admin, two steps, audited; listed for viewers. */
export function overrideRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.route({
      ...routeOptions(R.request),
      handler: async (request) =>
        deps.overrides.request(request.body, { actor: actorOf(request), requestId: request.id }),
    });

    app.route({
      ...routeOptions(R.list),
      handler: async (request) => {
        const q = request.query;
        return {
          overrides: await deps.overrides.list({
            state: q.state,
            limit: Math.min(500, Number(q.limit ?? 100)),
          }),
        };
      },
    });

    app.route({
      ...routeOptions(R.undo),
      handler: async (request) => ({
        override: await deps.overrides.undo(request.params.id, request.body.reason, {
          actor: actorOf(request),
          requestId: request.id,
        }),
      }),
    });
  };
}
