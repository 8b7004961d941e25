import { randomUUID } from "node:crypto";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { Type } from "typebox";
import { ErrorBody } from "../../contract/errors.ts";
import { AnyJson, IdParams, MAX_PRIORITY, Uuid } from "../../contract/schemas/common.ts";
import { RESET_LEVELS } from "../../daemon/coordination/reset-plan.ts";
import type { ApiDeps } from "../api-deps.ts";
import { actorOf } from "./pipeline-routes.ts";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };
const tags = ["coordination"];
const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));
// No NUL: Postgres text cannot hold it, and the audit insert must not fail after the action ran.
const Reason = Type.String({ minLength: 1, maxLength: 1_000, pattern: "^[^\\u0000]*$" });

/** Who asked, and the request id the audit log keeps (the caller's X-Request-Id when it sends a sane one). */
function callerOf(request: FastifyRequest): { actor: string; requestId: string } {
  const sent = request.headers["x-request-id"];
  const requestId = typeof sent === "string" && /^[\w.:-]{1,128}$/.test(sent) ? sent : randomUUID();
  return { actor: actorOf(request), requestId };
}

/** Coordination reads and levers under /api/dashboard (docs/coordination.md). */
export function coordinationRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  const c = deps.coordination;
  return async (app) => {
    app.get(
      "/coordination/success-rate",
      { config: { auth: "viewer" }, schema: { tags, response: { 200: AnyJson, ...errors } } },
      async () => c.reads.successRate(),
    );

    app.get(
      "/coordination/failures",
      {
        config: { auth: "viewer" },
        schema: {
          tags,
          querystring: Type.Object({ window: Type.Optional(literals(["1h", "24h", "7d"] as const)) }),
          response: { 200: AnyJson, ...errors },
        },
      },
      async (request) => c.reads.failures(request.query.window ?? "24h"),
    );

    app.get(
      "/coordination/diagnostics",
      { config: { auth: "viewer" }, schema: { tags, response: { 200: AnyJson, ...errors } } },
      async () => c.reads.diagnostics(),
    );

    app.post(
      "/coordination/reset",
      {
        config: { auth: "admin", rateLimit: "control" },
        schema: {
          tags,
          body: Type.Object({
            level: literals(RESET_LEVELS),
            reason: Reason,
            confirmationToken: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          }),
          response: { 200: AnyJson, ...errors },
        },
      },
      async (request) => c.levers.reset(request.body, callerOf(request)),
    );

    app.get(
      "/logs/coordination",
      {
        config: { auth: "viewer" },
        schema: {
          tags,
          querystring: Type.Object({
            window: Type.Optional(literals(["5m", "1h", "24h", "7d"] as const)),
            limit: Type.Optional(Type.String({ pattern: "^[1-9][0-9]{0,3}$" })),
          }),
          response: { 200: AnyJson, ...errors },
        },
      },
      async (request) =>
        c.reads.errorLog(request.query.window ?? "1h", Math.min(1_000, Number(request.query.limit ?? 100))),
    );

    app.get(
      "/tasks/distribution",
      { config: { auth: "viewer" }, schema: { tags, response: { 200: AnyJson, ...errors } } },
      async () => c.reads.distribution(),
    );

    app.post(
      "/tasks/:id/reassign",
      {
        config: { auth: "operator", rateLimit: "control" },
        schema: {
          tags,
          params: IdParams,
          body: Type.Object({ agentId: Type.Optional(Uuid), reason: Reason }),
          response: { 200: AnyJson, ...errors },
        },
      },
      async (request) => c.levers.reassign(request.params.id, request.body, callerOf(request)),
    );

    app.post(
      "/tasks/:id/retry",
      {
        config: { auth: "operator", rateLimit: "control" },
        schema: {
          tags,
          params: IdParams,
          body: Type.Object({
            reason: Type.Optional(Reason),
            priorityBoost: Type.Optional(Type.Integer({ minimum: -MAX_PRIORITY, maximum: MAX_PRIORITY })),
          }),
          response: { 200: AnyJson, ...errors },
        },
      },
      async (request) => deps.tasks.retryByOperator(request.params.id, request.body, callerOf(request)),
    );

    app.get(
      "/agents/:id/metrics",
      {
        config: { auth: "viewer" },
        schema: { tags, params: IdParams, response: { 200: AnyJson, ...errors } },
      },
      async (request) => c.reads.agentMetrics(request.params.id),
    );
  };
}
