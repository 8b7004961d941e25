import { defineRoute } from "../route.ts";
import { AuditPage, AuditQuery } from "../schemas/audit.ts";

/** The audit log of operator actions. */
export const AUDIT_ROUTES = {
  list: defineRoute({
    method: "GET",
    url: "/api/audit",
    operationId: "listAuditEntries",
    summary: "Who did what, why, with what impact and under which request id; newest first, paged by before",
    tag: "audit",
    auth: "operator",
    querystring: AuditQuery,
    replies: { 200: AuditPage },
  }),
};
