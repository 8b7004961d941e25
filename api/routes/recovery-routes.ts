import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { ErrorBody } from "../../contract/errors.ts";
import { AnyJson, IdParams } from "../../contract/schemas/common.ts";
import { HEAL_STRATEGIES } from "../../recovery/heal/heal-plan.ts";
import type { ApiDeps } from "../api-deps.ts";
import { actorOf } from "./pipeline-routes.ts";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 429: ErrorBody };
// No NUL: Postgres text cannot hold it, and the audit insert must not fail after the action ran.
const Reason = Type.String({ minLength: 1, maxLength: 2_000, pattern: "^[^\\u0000]*$" });

/** Agent restart, auto-heal and managed agents (docs/recovery.md), under /api/dashboard. */
export function recoveryRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/agents/:id/restart",
      {
        config: { auth: "operator", rateLimit: "control" },
        schema: {
          tags: ["recovery"],
          params: IdParams,
          body: Type.Object({
            reason: Reason,
            mode: Type.Optional(Type.Union([Type.Literal("restart"), Type.Literal("drain")])),
          }),
          response: { 200: AnyJson, ...errors },
        },
      },
      async (request) =>
        deps.recovery.restarter.restart(request.params.id, {
          reason: request.body.reason,
          mode: request.body.mode ?? "restart",
          actor: actorOf(request),
          requestId: request.id,
        }),
    );

    app.post(
      "/recovery/auto-heal",
      {
        config: { auth: "operator", rateLimit: "control" },
        schema: {
          tags: ["recovery"],
          body: Type.Object({
            strategy: Type.Union(HEAL_STRATEGIES.map((s) => Type.Literal(s))),
            dryRun: Type.Optional(Type.Boolean()),
          }),
          response: { 200: AnyJson, ...errors },
        },
      },
      async (request) =>
        deps.recovery.heal.heal({
          strategy: request.body.strategy,
          // A plan unless the caller asks for execution in so many words.
          dryRun: request.body.dryRun ?? true,
          actor: actorOf(request),
          requestId: request.id,
          trigger: "api",
        }),
    );

    app.get(
      "/recovery/managed-agents",
      {
        config: { auth: "viewer" },
        schema: { tags: ["recovery"], response: { 200: AnyJson, ...errors } },
      },
      async () => {
        await deps.recovery.gate.refresh();
        return { managed: deps.recovery.managed(), ...deps.recovery.gate.snapshot() };
      },
    );
  };
}
