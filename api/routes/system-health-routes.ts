import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { ErrorBody } from "../../contract/errors.ts";
import { AnyJson } from "../../contract/schemas/common.ts";
import type { ApiDeps } from "../api-deps.ts";

/** The system health read (viewer): per-component status and latency, a score, active overrides. */
export function systemHealthRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/system/health",
      {
        config: { auth: "viewer" },
        schema: {
          tags: ["dashboard"],
          description:
            "Per-component status and latency, a 0..100 score and active overrides (docs/probes.md)",
          response: { 200: AnyJson, 401: ErrorBody, 403: ErrorBody },
        },
      },
      async () => deps.systemHealth(),
    );
  };
}
