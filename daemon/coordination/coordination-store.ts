import type pg from "pg";
import type { Db } from "../store/pg-pool.ts";
import type { Queryable } from "../store/task-store.ts";
import type { OutcomeCounts } from "./success-rate.ts";

const FAILED = "('failed', 'timed_out', 'lost')";
const ms = "* interval '1 millisecond'";

/** Counts of ended attempts in [now - to, now - from). */
const countsSql = (from: string, to: string, name: string) => `
  count(*) FILTER (WHERE outcome = 'completed' AND finished_at > now() - ${to} ${ms} AND finished_at <= now() - ${from} ${ms}) AS ${name}_c,
  count(*) FILTER (WHERE outcome = 'failed' AND finished_at > now() - ${to} ${ms} AND finished_at <= now() - ${from} ${ms}) AS ${name}_f,
  count(*) FILTER (WHERE outcome = 'timed_out' AND finished_at > now() - ${to} ${ms} AND finished_at <= now() - ${from} ${ms}) AS ${name}_t,
  count(*) FILTER (WHERE outcome = 'lost' AND finished_at > now() - ${to} ${ms} AND finished_at <= now() - ${from} ${ms}) AS ${name}_l`;

const toCounts = (r: Record<string, string>, name: string): OutcomeCounts => ({
  completed: Number(r[`${name}_c`] ?? 0),
  failed: Number(r[`${name}_f`] ?? 0),
  timedOut: Number(r[`${name}_t`] ?? 0),
  lost: Number(r[`${name}_l`] ?? 0),
});

export interface FailureGroup {
  outcome: string;
  category: string | null;
  code: string | null;
  message: string | null;
  count: number;
  examples: Array<{ taskId: string; type: string; message: string | null; at: string }>;
}

export interface ErrorEvent {
  kind: "attempt_failed" | "attempt_timed_out" | "attempt_lost" | "dead_letter" | "operator_reassign";
  at: string;
  taskId: string;
  type: string | null;
  agentId: string | null;
  outcome: string;
  category: string | null;
  message: string | null;
}

/** Postgres reads and conditional writes of the coordination endpoints. */
/** An agent row with how many active leases it holds (as counted in SQL: a bigint, read as text). */
interface AgentLoadRow {
  id: string;
  name: string;
  role: string;
  state: string;
  capabilities: string[];
  concurrency: number;
  last_heartbeat_at: Date;
  leases: string;
}

export const coordinationSql = {
  /** Ended-attempt counts for each window and the window of the same length just before it. */
  async windowCounts(db: Db, windows: Record<string, number>) {
    const parts: string[] = [];
    const params: number[] = [];
    for (const [name, len] of Object.entries(windows)) {
      params.push(len, 2 * len);
      const a = `$${params.length - 1}::float8`;
      const b = `$${params.length}::float8`;
      parts.push(countsSql("0", a, `w_${name.replace(/\W/g, "_")}_cur`));
      parts.push(countsSql(a, b, `w_${name.replace(/\W/g, "_")}_prev`));
    }
    const longest = Math.max(...Object.values(windows)) * 2;
    params.push(longest);
    const r = await db.query<Record<string, string>>(
      `SELECT ${parts.join(",")} FROM task_attempts
       WHERE finished_at > now() - $${params.length}::float8 ${ms} AND outcome IN ('completed', 'failed', 'timed_out', 'lost')`,
      params,
    );
    const row = r.rows[0] ?? {};
    const out: Record<string, { current: OutcomeCounts; previous: OutcomeCounts }> = {};
    for (const name of Object.keys(windows)) {
      const key = `w_${name.replace(/\W/g, "_")}`;
      out[name] = { current: toCounts(row, `${key}_cur`), previous: toCounts(row, `${key}_prev`) };
    }
    return out;
  },

  /** The last 24 hours, hour by hour (the current, partial hour last), empty hours included. */
  async hourly(db: Db) {
    const r = await db.query<{ hour: Date; c: string; f: string; t: string; l: string }>(
      `SELECT h.hour,
         count(a.*) FILTER (WHERE a.outcome = 'completed') AS c,
         count(a.*) FILTER (WHERE a.outcome = 'failed') AS f,
         count(a.*) FILTER (WHERE a.outcome = 'timed_out') AS t,
         count(a.*) FILTER (WHERE a.outcome = 'lost') AS l
       FROM generate_series(date_trunc('hour', now()) - interval '23 hours', date_trunc('hour', now()), interval '1 hour') AS h(hour)
       LEFT JOIN task_attempts a ON a.finished_at >= h.hour AND a.finished_at < h.hour + interval '1 hour'
         AND a.outcome IN ('completed', 'failed', 'timed_out', 'lost')
       GROUP BY h.hour ORDER BY h.hour`,
    );
    return r.rows.map((x) => ({
      hourStart: x.hour.toISOString(),
      counts: { completed: Number(x.c), failed: Number(x.f), timedOut: Number(x.t), lost: Number(x.l) },
    }));
  },

  /**
   * Failed attempts in the window grouped by what the classifier reads (outcome, category, code and
   * the message's first 160 characters), largest groups first, each with its 5 latest examples.
   */
  async failureGroups(
    db: Db,
    windowMs: number,
    limit: number,
  ): Promise<{ groups: FailureGroup[]; total: number }> {
    const total = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM task_attempts WHERE outcome IN ${FAILED} AND finished_at > now() - $1::float8 ${ms}`,
      [windowMs],
    );
    const r = await db.query<{
      outcome: string;
      category: string | null;
      code: string | null;
      message: string | null;
      n: string;
      examples: FailureGroup["examples"];
    }>(
      `SELECT a.outcome, a.error->>'category' AS category, a.error->>'code' AS code,
         left(a.error->>'message', 160) AS message, count(*) AS n,
         (array_agg(json_build_object('taskId', a.task_id, 'type', t.type, 'message', left(a.error->>'message', 500),
            'at', to_char(a.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) ORDER BY a.finished_at DESC))[1:5] AS examples
       FROM task_attempts a JOIN tasks t ON t.id = a.task_id
       WHERE a.outcome IN ${FAILED} AND a.finished_at > now() - $1::float8 ${ms}
       GROUP BY 1, 2, 3, 4 ORDER BY n DESC LIMIT $2`,
      [windowMs, limit],
    );
    return {
      total: Number(total.rows[0]?.n ?? 0),
      groups: r.rows.map((g) => ({ ...g, count: Number(g.n), examples: g.examples ?? [] })),
    };
  },

  /** Recent error events: failed attempts, dead letters and operator reassignments, newest first. */
  async errorEvents(db: Db, windowMs: number, limit: number): Promise<ErrorEvent[]> {
    const r = await db.query<{
      kind: ErrorEvent["kind"];
      at: Date;
      task_id: string;
      type: string | null;
      agent_id: string | null;
      outcome: string;
      category: string | null;
      message: string | null;
    }>(
      `(SELECT CASE a.outcome WHEN 'failed' THEN 'attempt_failed' WHEN 'timed_out' THEN 'attempt_timed_out' ELSE 'attempt_lost' END AS kind,
          a.finished_at AS at, a.task_id::text, t.type, a.agent_id::text, a.outcome,
          a.error->>'category' AS category, left(a.error->>'message', 500) AS message
        FROM task_attempts a JOIN tasks t ON t.id = a.task_id
        WHERE a.outcome IN ${FAILED} AND a.finished_at > now() - $1::float8 ${ms}
        ORDER BY a.finished_at DESC LIMIT $2)
       UNION ALL
       (SELECT 'dead_letter', t.finished_at, t.id::text, t.type, NULL, 'dead',
          t.error->>'category', left(coalesce(t.dead_reason, t.error->>'message'), 500)
        FROM tasks t WHERE t.state = 'dead' AND t.finished_at > now() - $1::float8 ${ms}
        ORDER BY t.finished_at DESC LIMIT $2)
       UNION ALL
       (SELECT 'operator_reassign', l.at, l.target_id, l.data->>'type', l.data->>'fromAgentId', 'reassigned',
          NULL, left(l.reason, 500)
        FROM audit_log l WHERE l.action = 'task.reassign' AND l.at > now() - $1::float8 ${ms}
        ORDER BY l.at DESC LIMIT $2)
       ORDER BY at DESC LIMIT $2`,
      [windowMs, limit],
    );
    return r.rows.map((e) => ({
      kind: e.kind,
      at: e.at.toISOString(),
      taskId: e.task_id,
      type: e.type,
      agentId: e.agent_id,
      outcome: e.outcome,
      category: e.category,
      message: e.message,
    }));
  },

  async tasksByStateAndType(db: Db) {
    const r = await db.query<{ type: string; state: string; n: string }>(
      "SELECT type, state, count(*) AS n FROM tasks GROUP BY type, state ORDER BY type, state",
    );
    return r.rows.map((x) => ({ type: x.type, state: x.state, count: Number(x.n) }));
  },

  /** Every agent that is live or holds a lease, with its lease count. */
  async agentLoads(db: Db | Queryable) {
    const r = await db.query<AgentLoadRow>(
      `SELECT a.id, a.name, a.role, a.state, a.capabilities, a.concurrency, a.last_heartbeat_at,
         (SELECT count(*) FROM tasks t WHERE t.state = 'active' AND t.lease_agent_id = a.id) AS leases
       FROM agents a
       WHERE a.state IN ('active', 'stale', 'draining')
          OR EXISTS (SELECT 1 FROM tasks t WHERE t.state = 'active' AND t.lease_agent_id = a.id)
       ORDER BY a.id`,
    );
    return r.rows.map((a) => ({ ...a, leases: Number(a.leases) }));
  },

  /** Leases whose holder is in no agent row at all (the reconciler ends them as orphaned). */
  async leasesOfUnknownAgents(db: Db): Promise<number> {
    const r = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM tasks t LEFT JOIN agents a ON a.id = t.lease_agent_id
       WHERE t.state = 'active' AND a.id IS NULL`,
    );
    return Number(r.rows[0]?.n ?? 0);
  },

  async queuedByType(db: Db) {
    const r = await db.query<{ type: string; ready: string; delayed: string }>(
      `SELECT type, count(*) FILTER (WHERE ready_at <= now()) AS ready, count(*) FILTER (WHERE ready_at > now()) AS delayed
       FROM tasks WHERE state = 'queued' GROUP BY type ORDER BY type`,
    );
    return r.rows.map((x) => ({ type: x.type, ready: Number(x.ready), delayed: Number(x.delayed) }));
  },

  async expiredLeases(db: Db) {
    const r = await db.query<{ n: string; oldest: number | null; active: string }>(
      `SELECT count(*) FILTER (WHERE lease_expires_at < now()) AS n, count(*) AS active,
         (EXTRACT(EPOCH FROM now() - min(lease_expires_at) FILTER (WHERE lease_expires_at < now())) * 1000)::float8 AS oldest
       FROM tasks WHERE state = 'active'`,
    );
    const row = r.rows[0];
    return {
      count: Number(row?.n ?? 0),
      oldestOverdueMs: Math.round(row?.oldest ?? 0),
      active: Number(row?.active ?? 0),
    };
  },

  /** Active leases by holder (for the Redis lease-mirror comparison and rebuild). */
  async leasesByAgent(db: Db): Promise<Map<string, string[]>> {
    const r = await db.query<{ agent_id: string; ids: string[] }>(
      `SELECT lease_agent_id AS agent_id, array_agg(id::text ORDER BY id) AS ids FROM tasks
       WHERE state = 'active' GROUP BY lease_agent_id`,
    );
    return new Map(r.rows.map((x) => [x.agent_id, x.ids]));
  },

  /** Active leases of agents that are live but not active (stale or draining), with their tokens. */
  async leasesOfInactiveAgents(db: Db) {
    const r = await db.query<{ id: string; agent_id: string; token: string }>(
      `SELECT t.id, t.lease_agent_id AS agent_id, t.lease_token AS token FROM tasks t
       JOIN agents a ON a.id = t.lease_agent_id
       WHERE t.state = 'active' AND a.state IN ('stale', 'draining') ORDER BY t.id`,
    );
    return r.rows.map((x) => ({ taskId: x.id, agentId: x.agent_id, token: String(x.token) }));
  },

  async agentWindows(db: Db, agentId: string, windows: Record<string, number>) {
    const out: Record<string, Record<string, number | null>> = {};
    for (const [name, len] of Object.entries(windows)) {
      const r = await db.query<{
        c: string;
        f: string;
        t: string;
        l: string;
        mean_all: number | null;
        mean_ok: number | null;
      }>(
        `SELECT count(*) FILTER (WHERE outcome = 'completed') AS c, count(*) FILTER (WHERE outcome = 'failed') AS f,
           count(*) FILTER (WHERE outcome = 'timed_out') AS t, count(*) FILTER (WHERE outcome = 'lost') AS l,
           (avg(EXTRACT(EPOCH FROM finished_at - claimed_at)) * 1000)::float8 AS mean_all,
           (avg(EXTRACT(EPOCH FROM finished_at - claimed_at)) FILTER (WHERE outcome = 'completed') * 1000)::float8 AS mean_ok
         FROM task_attempts WHERE agent_id = $1 AND finished_at > now() - $2::float8 ${ms}
           AND outcome IN ('completed', 'failed', 'timed_out', 'lost')`,
        [agentId, len],
      );
      const x = r.rows[0];
      out[name] = {
        completed: Number(x?.c ?? 0),
        failed: Number(x?.f ?? 0),
        timedOut: Number(x?.t ?? 0),
        lost: Number(x?.l ?? 0),
        meanDurationMs: x?.mean_all ?? null,
        meanCompletedDurationMs: x?.mean_ok ?? null,
      };
    }
    return out;
  },

  async agentRow(db: Db, agentId: string) {
    const r = await db.query<AgentLoadRow>(
      `SELECT a.*, (SELECT count(*) FROM tasks t WHERE t.state = 'active' AND t.lease_agent_id = a.id) AS leases
       FROM agents a WHERE a.id = $1`,
      [agentId],
    );
    return r.rows[0] ?? null;
  },

  /** Locks a task for an operator action; null when it does not exist. */
  async lockTask(client: pg.PoolClient, taskId: string) {
    const r = await client.query<{
      id: string;
      type: string;
      state: string;
      priority: number;
      lease_token: string | null;
      lease_agent_id: string | null;
      attempts: number;
    }>(
      "SELECT id, type, state, priority, attempts, lease_token, lease_agent_id FROM tasks WHERE id = $1 FOR UPDATE",
      [taskId],
    );
    return r.rows[0] ?? null;
  },

  /**
   * Ends the current lease as `released` (not counted: the operator moved it) and makes the task
   * claimable now. Its lease token is cleared, so the old holder's next call gets 409.
   */
  async releaseForReassign(client: pg.PoolClient, taskId: string, leaseToken: string | null): Promise<void> {
    if (leaseToken) {
      await client.query(
        "UPDATE task_attempts SET outcome = 'released', finished_at = now() WHERE task_id = $1 AND lease_token = $2",
        [taskId, leaseToken],
      );
    }
    await client.query(
      `UPDATE tasks SET state = 'queued', lease_token = NULL, lease_agent_id = NULL, lease_expires_at = NULL,
         ready_at = now(), updated_at = now(), progress_percent = NULL, progress_message = NULL WHERE id = $1`,
      [taskId],
    );
  },

  /** Puts a dead or failed task back with a fresh attempt budget and a new priority. */
  async retryWithPriority(client: pg.PoolClient, taskId: string, priority: number): Promise<void> {
    await client.query(
      `UPDATE tasks SET state = 'queued', failures = 0, ready_at = now(), updated_at = now(), finished_at = NULL,
         dead_reason = NULL, priority = $2 WHERE id = $1`,
      [taskId, priority],
    );
  },
};
