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
  targetId?: string;
  /** The request that wrote it (X-Request-Id): how a client finds the entry its action wrote. */
  requestId?: string;
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

  /**
   * Newest first, one page; `nextBefore` continues the listing, null at its end. Keyset on the
   * numeric id (ORDER BY the column, not its text: as text 9 sorts above 17 and 10..17 were never
   * reached). A row committed after the first page has a higher id than that page, so a listing
   * neither skips nor repeats what existed when it began. `total` counts everything the filters match.
   */
  async query(q: Queryable, f: AuditFilter): Promise<AuditPage> {
    const filters = [
      f.actor ?? null,
      f.action ?? null,
      f.targetKind ?? null,
      f.since ?? null,
      f.targetId ?? null,
      f.requestId ?? null,
    ];
    const where = `($1::text IS NULL OR a.actor = $1) AND ($2::text IS NULL OR a.action = $2)
         AND ($3::text IS NULL OR a.target_kind = $3) AND ($4::timestamptz IS NULL OR a.at >= $4)
         AND ($5::text IS NULL OR a.target_id = $5) AND ($6::text IS NULL OR a.request_id = $6)`;
    const [r, counted] = await Promise.all([
      q.query<{
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
        `SELECT a.id::text AS id, a.at, a.actor, a.action, a.target_kind, a.target_id, a.reason, a.request_id,
           a.impact, a.data
         FROM audit_log a
         WHERE ${where} AND ($7::bigint IS NULL OR a.id < $7)
         ORDER BY a.id DESC LIMIT $8`,
        [...filters, f.before ?? null, f.limit + 1],
      ),
      q.query<{ n: string }>(`SELECT count(*) AS n FROM audit_log a WHERE ${where}`, filters),
    ]);
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
      total: Number(counted.rows[0]?.n ?? 0),
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
