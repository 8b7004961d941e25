import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { AUDIT_ROUTES as R } from "../../contract/routes/audit.ts";
import { AUDIT_PAGE_MAX } from "../../contract/schemas/audit.ts";
import { OverseerError } from "../../daemon/errors/overseer-error.ts";
import type { ApiDeps } from "../api-deps.ts";
import { routeOptions } from "../route-options.ts";

/** The audit log (who, what, why, impact, when, request id), newest first, paged by `before`. */
export function auditRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.route({
      ...routeOptions(R.list),
      handler: async (request) => {
        const q = request.query;
        const limit = Number(q.limit ?? 100);
        if (limit > AUDIT_PAGE_MAX) {
          throw new OverseerError("OVS_ERR_VALIDATION", `limit must be at most ${AUDIT_PAGE_MAX}`);
        }
        let since: Date | undefined;
        if (q.since !== undefined) {
          // ISO 8601 only: Date.parse also takes forms whose meaning depends on the locale.
          since = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/.test(q.since)
            ? new Date(q.since)
            : new Date(Number.NaN);
          if (Number.isNaN(since.getTime())) {
            throw new OverseerError(
              "OVS_ERR_VALIDATION",
              "since must be an ISO 8601 time, e.g. 2026-01-31T12:00:00Z",
            );
          }
        }
        return deps.audit.query({
          actor: q.actor,
          action: q.action,
          targetKind: q.targetKind,
          targetId: q.targetId,
          requestId: q.requestId,
          since,
          before: q.before,
          limit,
        });
      },
    });
  };
}
