import type { OverrideAction, OverrideState, OverrideView } from "../../contract/schemas/overrides.ts";
import type { Queryable, Tx } from "./pg-pool.ts";
import { countsOf, type PurgeBatch, purgeOne } from "./purge-batch.ts";

export type { OverrideView };

interface OverrideRow {
  id: string;
  action: OverrideAction;
  state: OverrideState;
  reason: string;
  actor: string;
  started_at: Date;
  expires_at: Date | null;
  ended_at: Date | null;
  ended_by: string | null;
  impact: Record<string, unknown>;
}

const COLUMNS = "id, action, state, reason, actor, started_at, expires_at, ended_at, ended_by, impact";
const iso = (d: Date | null) => (d ? d.toISOString() : null);

function view(r: OverrideRow): OverrideView {
  return {
    id: r.id,
    action: r.action,
    state: r.state,
    reason: r.reason,
    actor: r.actor,
    startedAt: r.started_at.toISOString(),
    expiresAt: iso(r.expires_at),
    endedAt: iso(r.ended_at),
    endedBy: r.ended_by,
    impact: r.impact,
  };
}

/**
 * The `overrides` table (migration 1733097600000). The tasks a clear_task_queue override archives
 * and restores are written by TaskStore (the writer of `tasks` and `task_archive`).
 */
export const overridesStore = {
  /** Serialises override decisions across replicas until the caller's transaction ends. */
  async lockDecisions(tx: Tx): Promise<void> {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext('overseer.overrides'))");
  },

  async insert(
    q: Queryable,
    o: {
      id: string;
      action: OverrideAction;
      state: OverrideState;
      reason: string;
      actor: string;
      startedAt: Date;
      expiresAt: Date | null;
      impact: unknown;
    },
  ): Promise<OverrideView> {
    const r = await q.query<OverrideRow>(
      `INSERT INTO overrides (id, action, state, reason, actor, started_at, expires_at, impact, ended_at, ended_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $3 = 'done' THEN $6::timestamptz END,
               CASE WHEN $3 = 'done' THEN $5 END)
       RETURNING ${COLUMNS}`,
      [o.id, o.action, o.state, o.reason, o.actor, o.startedAt, o.expiresAt, JSON.stringify(o.impact ?? {})],
    );
    return view(r.rows[0] as OverrideRow);
  },

  async get(q: Queryable, id: string): Promise<OverrideView | null> {
    const r = await q.query<OverrideRow>(`SELECT ${COLUMNS} FROM overrides WHERE id = $1`, [id]);
    return r.rows[0] ? view(r.rows[0]) : null;
  },

  /** Newest first; `state` narrows to one state. */
  async list(q: Queryable, opts: { state?: OverrideState; limit: number }): Promise<OverrideView[]> {
    const r = await q.query<OverrideRow>(
      `SELECT ${COLUMNS} FROM overrides WHERE ($1::text IS NULL OR state = $1)
       ORDER BY started_at DESC, id LIMIT $2`,
      [opts.state ?? null, opts.limit],
    );
    return r.rows.map(view);
  },

  /** The actions in force now (cheap: a partial index holds only active rows). */
  async activeActions(q: Queryable): Promise<Array<{ action: OverrideAction; expiresAt: Date | null }>> {
    const r = await q.query<{ action: OverrideAction; expiresAt: Date | null }>(
      `SELECT action, expires_at AS "expiresAt" FROM overrides WHERE state = 'active'`,
    );
    return r.rows;
  },

  /**
   * Ends an active override, once: the guard on `state = 'active'` makes an undo racing an expiry
   * (or two replicas' expiry loops) end it exactly once. Null when it was not active any more.
   */
  async end(
    q: Queryable,
    id: string,
    to: "undone" | "expired",
    endedBy: string,
    now: Date,
  ): Promise<OverrideView | null> {
    const r = await q.query<OverrideRow>(
      `UPDATE overrides SET state = $2, ended_at = $4, ended_by = $3
       WHERE id = $1 AND state = 'active' RETURNING ${COLUMNS}`,
      [id, to, endedBy, now],
    );
    return r.rows[0] ? view(r.rows[0]) : null;
  },

  /** Adds what the execution actually did (archived tasks, agents told) to the recorded impact. */
  async addImpact(q: Queryable, id: string, extra: Record<string, unknown>): Promise<void> {
    await q.query("UPDATE overrides SET impact = impact || $2::jsonb WHERE id = $1", [
      id,
      JSON.stringify(extra),
    ]);
  },

  /** Active overrides whose expiry has passed. */
  async dueForExpiry(q: Queryable, now: Date, limit: number): Promise<string[]> {
    const r = await q.query<{ id: string }>(
      `SELECT id FROM overrides WHERE state = 'active' AND expires_at IS NOT NULL AND expires_at <= $1
       ORDER BY expires_at LIMIT $2`,
      [now, limit],
    );
    return r.rows.map((x) => x.id);
  },

  /** Retention: ended overrides that no archived task still names (task_archive.override_id has no cascade). */
  purgeEnded(tx: Tx, cutoff: Date, limit: number): Promise<PurgeBatch> {
    return purgeOne(
      tx,
      "overrides",
      `WITH d AS (DELETE FROM overrides WHERE id IN
        (SELECT o.id FROM overrides o
         WHERE o.state <> 'active' AND coalesce(o.ended_at, o.started_at) < $1
           AND NOT EXISTS (SELECT 1 FROM task_archive x WHERE x.override_id = o.id)
         ORDER BY o.started_at LIMIT $2 FOR UPDATE OF o SKIP LOCKED) RETURNING 1)
      ${countsOf({ d: "overrides" })}`,
      cutoff,
      limit,
    );
  },
};
