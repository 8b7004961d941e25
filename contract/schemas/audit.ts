import { type Static, Type } from "typebox";
import { NextBefore, PAGE_LIMIT_MAX, Total } from "./paging.ts";

/** The audit log of operator actions (GET /api/audit): who did what, why, with what impact, when. */

/** The most entries one page may ask for (the paging convention's maximum, docs/paging.md). */
export const AUDIT_PAGE_MAX = PAGE_LIMIT_MAX;

const Name = Type.String({ minLength: 1, maxLength: 200 });

export const AuditQuery = Type.Object(
  {
    actor: Type.Optional(Name),
    action: Type.Optional(Name),
    targetKind: Type.Optional(Name),
    targetId: Type.Optional(Name),
    requestId: Type.Optional(
      Type.String({
        pattern: "^[\\w.:-]{1,128}$",
        description:
          "the request that wrote the entry: the X-Request-Id the caller sent, or the id the daemon gave it",
      }),
    ),
    since: Type.Optional(
      Type.String({ minLength: 1, maxLength: 40, description: "ISO 8601, e.g. 2026-01-31T12:00:00Z" }),
    ),
    before: Type.Optional(
      Type.String({
        pattern: "^[1-9][0-9]{0,17}$",
        description: "the previous page's nextBefore, unchanged (docs/paging.md)",
      }),
    ),
    limit: Type.Optional(
      Type.String({ pattern: "^[1-9][0-9]{0,3}$", description: `1 to ${AUDIT_PAGE_MAX}; 100 when absent` }),
    ),
  },
  { additionalProperties: false },
);

/** One audit record. */
export const AuditEntry = Type.Object({
  id: Type.String({ description: "increasing; pages continue below it" }),
  at: Type.String({ format: "date-time" }),
  actor: Type.String(),
  action: Type.String({ description: "e.g. task.retry, override.stop_all_tasks, heal.retry_dead_task" }),
  targetKind: Type.String(),
  targetId: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  requestId: Type.Union([Type.String(), Type.Null()]),
  impact: Type.Unknown({ description: "what the action was predicted or seen to touch; varies by action" }),
  data: Type.Unknown({ description: "details of the action; varies by action" }),
});
export type AuditEntry = Static<typeof AuditEntry>;

/**
 * Newest first (by id, numerically); `nextBefore` continues the listing, null at its end; `total`
 * counts every entry the filters match (docs/paging.md).
 */
export const AuditPage = Type.Object({
  entries: Type.Array(AuditEntry),
  total: Total,
  nextBefore: NextBefore,
});
export type AuditPage = Static<typeof AuditPage>;
