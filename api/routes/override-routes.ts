import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { ErrorBody } from "../../contract/errors.ts";
import { AnyJson, IdParams } from "../../contract/schemas/common.ts";
import { OVERRIDE_ACTIONS } from "../../daemon/overrides/override-rules.ts";
import type { ApiDeps } from "../api-deps.ts";
import { actorOf } from "./pipeline-routes.ts";

const errors = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  429: ErrorBody,
};
// No NUL: Postgres text cannot hold it, and the audit insert must not fail after the action ran.
const Reason = Type.String({ minLength: 1, maxLength: 2_000, pattern: "^[^\\u0000]*$" });

/** Emergency overrides (docs/overrides.md): admin, two steps, audited; listed for viewers. */
export function overrideRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/system/emergency-override",
      {
        config: { auth: "admin", rateLimit: "control" },
        schema: {
          tags: ["overrides"],
          body: Type.Object({
            action: Type.Union(OVERRIDE_ACTIONS.map((a) => Type.Literal(a))),
            reason: Reason,
            expiresInMs: Type.Optional(Type.Integer()),
            confirmationToken: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          }),
          response: { 200: AnyJson, ...errors },
        },
      },
      async (request) =>
        deps.overrides.request(request.body, { actor: actorOf(request), requestId: request.id }),
    );

    app.get(
      "/system/overrides",
      {
        config: { auth: "viewer" },
        schema: {
          tags: ["overrides"],
          querystring: Type.Object({
            state: Type.Optional(
              Type.Union(["active", "done", "undone", "expired"].map((s) => Type.Literal(s))),
            ),
            limit: Type.Optional(Type.String({ pattern: "^[1-9][0-9]{0,2}$" })),
          }),
          response: { 200: AnyJson, ...errors },
        },
      },
      async (request) => {
        const q = request.query;
        const state = q.state as "active" | "done" | "undone" | "expired" | undefined;
        return {
          overrides: await deps.overrides.list({ state, limit: Math.min(500, Number(q.limit ?? 100)) }),
        };
      },
    );

    app.post(
      "/system/overrides/:id/undo",
      {
        config: { auth: "admin", rateLimit: "control" },
        schema: {
          tags: ["overrides"],
          params: IdParams,
          body: Type.Object({ reason: Reason }),
          response: { 200: AnyJson, ...errors },
        },
      },
      async (request) => ({
        override: await deps.overrides.undo(request.params.id, request.body.reason, {
          actor: actorOf(request),
          requestId: request.id,
        }),
      }),
    );
  };
}
