import type { AuditEntry, AuditPage } from "../../contract/schemas/audit.ts";
import type { Queryable, Tx } from "./pg-pool.ts";
import { countsOf, type PurgeBatch, purgeOne } from "./purge-batch.ts";

export type { AuditEntry, AuditPage };

/** What an audited action records. */
export interface AuditRecord {
  actor: string;
  action: string;
  targetKind: string;
  targetId: string;
  reason?: string | null;
  requestId?: string | null;
  impact?: unknown;
  data?: unknown;
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  targetKind?: string;
  since?: Date;
  /** Only entries older than this entry id (the previous page's `nextBefore`). */
  before?: string;
  limit: number;
}

/**
 * The `audit_log` table, and its one writer: who did what, why, with what predicted impact, under
 * which request id. Services record inside their own transaction (`q` is then its connection), so
 * an action and its record commit together; the read side is AuditService (daemon/control/).
 */
export const auditLog = {
  async record(q: Queryable, e: AuditRecord): Promise<void> {
    await q.query(
      `INSERT INTO audit_log (actor, action, target_kind, target_id, reason, request_id, impact, data)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        e.actor,
        e.action,
        e.targetKind,
        e.targetId,
        e.reason ?? null,
        e.requestId ?? null,
        e.impact === undefined ? null : JSON.stringify(e.impact),
        JSON.stringify(e.data ?? {}),
      ],
    );
  },

  /** Newest first, one page; `nextBefore` continues the listing, null at its end. */
  async query(q: Queryable, f: AuditFilter): Promise<AuditPage> {
    const r = await q.query<{
      id: string;
      at: Date;
      actor: string;
      action: string;
      target_kind: string;
      target_id: string;
      reason: string | null;
      request_id: string | null;
      impact: unknown;
      data: unknown;
    }>(
      `SELECT id::text, at, actor, action, target_kind, target_id, reason, request_id, impact, data
       FROM audit_log
       WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR action = $2)
         AND ($3::text IS NULL OR target_kind = $3) AND ($4::timestamptz IS NULL OR at >= $4)
         AND ($5::bigint IS NULL OR id < $5)
       ORDER BY id DESC LIMIT $6`,
      [
        f.actor ?? null,
        f.action ?? null,
        f.targetKind ?? null,
        f.since ?? null,
        f.before ?? null,
        f.limit + 1,
      ],
    );
    const rows = r.rows.slice(0, f.limit);
    return {
      entries: rows.map((x) => ({
        id: x.id,
        at: x.at.toISOString(),
        actor: x.actor,
        action: x.action,
        targetKind: x.target_kind,
        targetId: x.target_id,
        reason: x.reason,
        requestId: x.request_id,
        impact: x.impact,
        data: x.data,
      })),
      nextBefore: r.rows.length > f.limit ? (rows[rows.length - 1]?.id ?? null) : null,
    };
  },

  /** Retention: entries older than the cutoff, oldest first, at most `limit`. */
  purgeBefore(tx: Tx, cutoff: Date, limit: number): Promise<PurgeBatch> {
    return purgeOne(
      tx,
      "audit_log",
      `WITH d AS (DELETE FROM audit_log WHERE id IN
        (SELECT id FROM audit_log WHERE at < $1 ORDER BY at LIMIT $2) RETURNING 1)
      ${countsOf({ d: "audit_log" })}`,
      cutoff,
      limit,
    );
  },
};
