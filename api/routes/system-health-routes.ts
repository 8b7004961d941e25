import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { SYSTEM_ROUTES as R } from "../../contract/routes/system.ts";
import type { SystemHealthReport } from "../../contract/schemas/system.ts";
import type { ApiDeps } from "../api-deps.ts";
import { routeOptions } from "../route-options.ts";

/** The system health read (viewer): per-component status and latency, a score, active overrides. */
export function systemHealthRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.route({
      ...routeOptions(R.health),
      handler: async (): Promise<SystemHealthReport> => deps.systemHealth(),
    });
  };
}
