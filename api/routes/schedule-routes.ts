import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { SCHEDULE_ROUTES as R } from "../../contract/routes/schedules.ts";
import type { ApiDeps } from "../api-deps.ts";
import { routeOptions } from "../route-options.ts";
import { actorOf } from "./pipeline-routes.ts";

/** Recurring and one-off pipeline runs. */
export function scheduleRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    const s = deps.schedules;

    app.route({
      ...routeOptions(R.create),
      handler: async (request, reply) =>
        reply.code(201).send(await s.create(request.body, actorOf(request), request.id)),
    });
    app.route({
      ...routeOptions(R.list),
      handler: async (request) => ({ schedules: await s.list(request.query.state) }),
    });
    app.route({
      ...routeOptions(R.get),
      handler: async (request) => s.get(request.params.id),
    });
    app.route({
      ...routeOptions(R.pause),
      handler: async (request) =>
        s.pause(request.params.id, actorOf(request), request.body.reason, request.id),
    });
    app.route({
      ...routeOptions(R.resume),
      handler: async (request) =>
        s.resume(request.params.id, actorOf(request), request.body.reason, request.id),
    });
    app.route({
      ...routeOptions(R.delete),
      handler: async (request, reply) => {
        await s.delete(request.params.id, actorOf(request), undefined, request.id);
        return reply.code(204).send(null);
      },
    });
  };
}
