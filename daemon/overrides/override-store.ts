import type { Queryable } from "../store/task-store.ts";
import type { OverrideAction, OverrideState } from "./override-rules.ts";

/** An override as the API shows it. */
export interface OverrideView {
  id: string;
  action: OverrideAction;
  state: OverrideState;
  reason: string;
  actor: string;
  startedAt: string;
  expiresAt: string | null;
  endedAt: string | null;
  endedBy: string | null;
  impact: Record<string, unknown>;
}

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

/** SQL of the `overrides` and `task_archive` tables (migration 1733097600000). */
export const overrideSql = {
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

  /** What the system holds now, for a dry run's impact. */
  async counts(q: Queryable): Promise<{ queued: number; active: number; liveAgents: number }> {
    const r = await q.query<{ queued: number; active: number; live: number }>(
      `SELECT (SELECT count(*)::int FROM tasks WHERE state = 'queued') AS queued,
              (SELECT count(*)::int FROM tasks WHERE state = 'active') AS active,
              (SELECT count(*)::int FROM agents WHERE state IN ('active', 'stale', 'draining')) AS live`,
    );
    const row = r.rows[0] as { queued: number; active: number; live: number };
    return { queued: row.queued, active: row.active, liveAgents: row.live };
  },

  /** Queued tasks by type (a dry run of clear_task_queue lists what it would archive). */
  async queuedByType(q: Queryable): Promise<Record<string, number>> {
    const r = await q.query<{ type: string; n: number }>(
      "SELECT type, count(*)::int AS n FROM tasks WHERE state = 'queued' GROUP BY type ORDER BY type",
    );
    return Object.fromEntries(r.rows.map((x) => [x.type, x.n]));
  },

  /**
   * Parks every queued task as `archived` and keeps its full row in `task_archive`, in one
   * statement: a claim racing it either leased the task first (then it is not archived) or finds it
   * no longer queued. Returns what moved, for removing the dispatch entries.
   */
  async archiveQueued(q: Queryable, overrideId: string): Promise<Array<{ id: string; type: string }>> {
    const r = await q.query<{ id: string; type: string }>(
      `WITH moved AS (
         UPDATE tasks SET state = 'archived', updated_at = now() WHERE state = 'queued' RETURNING *
       )
       INSERT INTO task_archive (task_id, override_id, row_data)
       SELECT id, $1, to_jsonb(moved) FROM moved
       RETURNING task_id AS id, row_data->>'type' AS type`,
      [overrideId],
    );
    return r.rows;
  },

  /** Puts an override's archived tasks back in the queue, each once; returns their enqueue orders. */
  async restoreArchived(
    q: Queryable,
    overrideId: string,
  ): Promise<Array<{ id: string; type: string; priority: number; delayMs: number }>> {
    const r = await q.query<{ id: string; type: string; priority: number; delay_ms: number }>(
      `WITH marked AS (
         UPDATE task_archive SET restored_at = now()
         WHERE override_id = $1 AND restored_at IS NULL RETURNING task_id
       ), back AS (
         UPDATE tasks t SET state = 'queued', updated_at = now()
         FROM marked m WHERE t.id = m.task_id AND t.state = 'archived'
         RETURNING t.id, t.type, t.priority, t.ready_at
       )
       SELECT id, type, priority,
              GREATEST(0, floor(extract(epoch FROM (ready_at - now())) * 1000))::int AS delay_ms
       FROM back`,
      [overrideId],
    );
    return r.rows.map((x) => ({ id: x.id, type: x.type, priority: x.priority, delayMs: x.delay_ms }));
  },
};
