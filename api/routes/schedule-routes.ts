import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { ErrorBody } from "../../contract/errors.ts";
import { AnyJson, IdParams } from "../../contract/schemas/common.ts";
import {
  CreateScheduleBody,
  ScheduleActionBody,
  ScheduleListQuery,
} from "../../contract/schemas/schedules.ts";
import type { ApiDeps } from "../api-deps.ts";
import { actorOf } from "./pipeline-routes.ts";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

/** Recurring and one-off pipeline runs. */
export function scheduleRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    const s = deps.schedules;

    app.post(
      "/schedules",
      {
        config: { auth: "operator" },
        schema: { tags: ["schedules"], body: CreateScheduleBody, response: { 201: AnyJson, ...errors } },
      },
      async (request, reply) => reply.code(201).send(await s.create(request.body, actorOf(request))),
    );

    app.get(
      "/schedules",
      {
        config: { auth: "viewer" },
        schema: {
          tags: ["schedules"],
          querystring: ScheduleListQuery,
          response: { 200: AnyJson, ...errors },
        },
      },
      async (request) => ({ schedules: await s.list(request.query.state) }),
    );

    app.get(
      "/schedules/:id",
      {
        config: { auth: "viewer" },
        schema: { tags: ["schedules"], params: IdParams, response: { 200: AnyJson, ...errors } },
      },
      async (request) => s.get(request.params.id),
    );

    for (const action of ["pause", "resume"] as const) {
      app.post(
        `/schedules/:id/${action}`,
        {
          config: { auth: "operator" },
          schema: {
            tags: ["schedules"],
            params: IdParams,
            body: ScheduleActionBody,
            response: { 200: AnyJson, ...errors },
          },
        },
        async (request) => s[action](request.params.id, actorOf(request), request.body.reason),
      );
    }

    app.delete(
      "/schedules/:id",
      {
        config: { auth: "operator" },
        schema: { tags: ["schedules"], params: IdParams, response: { 204: Type.Null(), ...errors } },
      },
      async (request, reply) => {
        await s.delete(request.params.id, actorOf(request));
        return reply.code(204).send(null);
      },
    );
  };
}
