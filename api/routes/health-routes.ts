import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { HEALTH_ROUTES as R } from "../../contract/routes/health.ts";
import type { ApiDeps } from "../api-deps.ts";
import { routeOptions } from "../route-options.ts";

/** Unauthenticated probes and the Prometheus scrape endpoint. */
export function healthRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.route({
      ...routeOptions(R.healthz),
      handler: async (_request, reply) => {
        const h = deps.health();
        return reply
          .code(h.live ? 200 : 503)
          .send({ status: h.live ? "ok" : "failed", lifecycle: h.lifecycle });
      },
    });
    app.route({
      ...routeOptions(R.readyz),
      handler: async (_request, reply) => {
        const r = await deps.readiness();
        return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? "ready" : "not_ready", ...r });
      },
    });
    app.route({
      ...routeOptions(R.metrics),
      handler: async (_request, reply) => {
        const text = await deps.renderMetrics();
        return reply.type(deps.metrics.registry.contentType).send(text);
      },
    });
  };
}
