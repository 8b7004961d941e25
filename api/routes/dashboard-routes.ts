import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { ErrorBody } from "../../contract/errors.ts";
import { AnyJson } from "../../contract/schemas/common.ts";
import type { ApiDeps } from "../api-deps.ts";

const errors = { 200: AnyJson, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody };
const AgentState = Type.Union(["active", "stale", "dead", "draining", "left"].map((s) => Type.Literal(s)));
const QueueState = Type.Union(["ready", "delayed", "active", "failed", "dead"].map((s) => Type.Literal(s)));

/** Reads the dashboards of the systems Overseer replaces already call (viewer role). */
export function dashboardRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/agents/status",
      {
        config: { auth: "viewer" },
        schema: {
          tags: ["dashboard"],
          querystring: Type.Object({
            role: Type.Optional(Type.String({ maxLength: 64 })),
            state: Type.Optional(AgentState),
            includeEnded: Type.Optional(Type.Union([Type.Literal("true"), Type.Literal("false")])),
            limit: Type.Optional(Type.String({ pattern: "^[1-9][0-9]{0,4}$" })),
          }),
          response: errors,
        },
      },
      async (request) => {
        const q = request.query;
        return deps.dashboard.agentsStatus({
          role: q.role,
          state: q.state as never,
          includeEnded: q.includeEnded === "true",
          limit: q.limit ? Number(q.limit) : 1_000,
        });
      },
    );

    app.get(
      "/agents/heartbeat",
      { config: { auth: "viewer" }, schema: { tags: ["dashboard"], response: errors } },
      async () => deps.dashboard.heartbeats(),
    );

    app.get(
      "/tasks/queue",
      {
        config: { auth: "viewer" },
        schema: {
          tags: ["dashboard"],
          querystring: Type.Object({
            type: Type.Optional(Type.String({ maxLength: 64 })),
            state: Type.Optional(QueueState),
          }),
          response: errors,
        },
      },
      async (request) =>
        deps.dashboard.taskQueue({ type: request.query.type, state: request.query.state as never }),
    );
  };
}
