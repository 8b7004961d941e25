import { ATTEMPT_RESULTS } from "../../contract/figures.ts";
import type { ErrorEvent } from "../../contract/schemas/coordination.ts";
import type { OutcomeCounts } from "../coordination/success-rate.ts";
import type { Queryable } from "./pg-pool.ts";

// Aggregates over ended attempts (`task_attempts`, with their tasks and the audit log's
// reassignments) behind the coordination reads: success rates, failure groups, the error log.

// The outcome sets of the figure attempt_success_rate (contract/figures.ts): constants, not input.
const sqlList = (xs: readonly string[]) => `(${xs.map((x) => `'${x}'`).join(", ")})`;
const FAILED = sqlList(ATTEMPT_RESULTS.failed);
const ENDED = sqlList([...ATTEMPT_RESULTS.succeeded, ...ATTEMPT_RESULTS.failed]);
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

/** Failed attempts that share what the classifier reads, with the 5 latest as examples. */
export interface FailureGroup {
  outcome: string;
  category: string | null;
  code: string | null;
  message: string | null;
  count: number;
  examples: Array<{ taskId: string; type: string; message: string | null; at: string }>;
}

/** An agent's ended attempts in one window, with mean durations (null when none ended). */
export interface AgentWindowCounts extends OutcomeCounts {
  meanDurationMs: number | null;
  meanCompletedDurationMs: number | null;
}

export const attemptStats = {
  /** Ended-attempt counts for each window and the window of the same length just before it. */
  async windowCounts<W extends string>(
    q: Queryable,
    windows: Record<W, number>,
  ): Promise<Record<W, { current: OutcomeCounts; previous: OutcomeCounts }>> {
    const parts: string[] = [];
    const params: number[] = [];
    for (const [name, len] of Object.entries<number>(windows)) {
      params.push(len, 2 * len);
      const a = `$${params.length - 1}::float8`;
      const b = `$${params.length}::float8`;
      parts.push(countsSql("0", a, `w_${name.replace(/\W/g, "_")}_cur`));
      parts.push(countsSql(a, b, `w_${name.replace(/\W/g, "_")}_prev`));
    }
    const longest = Math.max(...Object.values<number>(windows)) * 2;
    params.push(longest);
    const r = await q.query<Record<string, string>>(
      `SELECT ${parts.join(",")} FROM task_attempts
       WHERE finished_at > now() - $${params.length}::float8 ${ms} AND outcome IN ${ENDED}`,
      params,
    );
    const row = r.rows[0] ?? {};
    const out: Partial<Record<W, { current: OutcomeCounts; previous: OutcomeCounts }>> = {};
    for (const name of Object.keys(windows) as W[]) {
      const key = `w_${name.replace(/\W/g, "_")}`;
      out[name] = { current: toCounts(row, `${key}_cur`), previous: toCounts(row, `${key}_prev`) };
    }
    // Every window was filled in above.
    return out as Record<W, { current: OutcomeCounts; previous: OutcomeCounts }>;
  },

  /** The last 24 hours, hour by hour (the current, partial hour last), empty hours included. */
  async hourly(q: Queryable): Promise<Array<{ hourStart: string; counts: OutcomeCounts }>> {
    const r = await q.query<{ hour: Date; c: string; f: string; t: string; l: string }>(
      `SELECT h.hour,
         count(a.*) FILTER (WHERE a.outcome = 'completed') AS c,
         count(a.*) FILTER (WHERE a.outcome = 'failed') AS f,
         count(a.*) FILTER (WHERE a.outcome = 'timed_out') AS t,
         count(a.*) FILTER (WHERE a.outcome = 'lost') AS l
       FROM generate_series(date_trunc('hour', now()) - interval '23 hours', date_trunc('hour', now()), interval '1 hour') AS h(hour)
       LEFT JOIN task_attempts a ON a.finished_at >= h.hour AND a.finished_at < h.hour + interval '1 hour'
         AND a.outcome IN ${ENDED}
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
    q: Queryable,
    windowMs: number,
    limit: number,
  ): Promise<{ groups: FailureGroup[]; total: number }> {
    const total = await q.query<{ n: string }>(
      `SELECT count(*) AS n FROM task_attempts WHERE outcome IN ${FAILED} AND finished_at > now() - $1::float8 ${ms}`,
      [windowMs],
    );
    const r = await q.query<{
      outcome: string;
      category: string | null;
      code: string | null;
      message: string | null;
      n: string;
      examples: FailureGroup["examples"] | null;
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
      groups: r.rows.map((g) => ({
        outcome: g.outcome,
        category: g.category,
        code: g.code,
        message: g.message,
        count: Number(g.n),
        examples: g.examples ?? [],
      })),
    };
  },

  /** Recent error events: failed attempts, dead letters and operator reassignments, newest first. */
  async errorEvents(q: Queryable, windowMs: number, limit: number): Promise<ErrorEvent[]> {
    const r = await q.query<{
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

  /** Completed and failed attempts per agent over the last `windowMs` (health score input). */
  async byAgentSince(
    q: Queryable,
    windowMs: number,
  ): Promise<Map<string, { completed: number; failed: number }>> {
    const found = await q.query<{ agent_id: string; completed: string; failed: string }>(
      `SELECT agent_id, count(*) FILTER (WHERE outcome = 'completed') AS completed,
         count(*) FILTER (WHERE outcome IN ${FAILED}) AS failed
       FROM task_attempts WHERE finished_at > now() - $1 * interval '1 millisecond' GROUP BY agent_id`,
      [windowMs],
    );
    return new Map(
      found.rows.map((r) => [r.agent_id, { completed: Number(r.completed), failed: Number(r.failed) }]),
    );
  },

  /** One agent's ended attempts in each window, with mean durations. */
  async ofAgent<W extends string>(
    q: Queryable,
    agentId: string,
    windows: Record<W, number>,
  ): Promise<Record<W, AgentWindowCounts>> {
    const out: Partial<Record<W, AgentWindowCounts>> = {};
    for (const name of Object.keys(windows) as W[]) {
      const len = windows[name];
      const r = await q.query<{
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
           AND outcome IN ${ENDED}`,
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
    // Every window was filled in above.
    return out as Record<W, AgentWindowCounts>;
  },
};
