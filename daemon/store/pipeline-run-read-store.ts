import type { RunState } from "../../contract/schemas/pipelines.ts";
import type { Queryable } from "./pg-pool.ts";
import type { RunRow } from "./pipeline-run-store.ts";

/**
 * Reads over many runs (pipeline-run-store.ts writes them): the run listing, the supervision
 * sweep's selection and the step-duration history ETAs are estimated from. Reads only.
 */

export interface RunListFilter {
  template?: string;
  state?: RunState;
  /** Created at or after (ISO 8601). */
  from?: string;
  /** Created before (ISO 8601). */
  to?: string;
  limit: number;
  offset: number;
}

export const pipelineRunReads = {
  /** One page of runs, newest first, and how many match in all. */
  async list(q: Queryable, filter: RunListFilter): Promise<{ total: number; rows: RunRow[] }> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      args.push(v);
      where.push(sql.replace("?", `$${args.length}`));
    };
    if (filter.template) add("template = ?", filter.template);
    if (filter.state) add("state = ?", filter.state);
    if (filter.from) add("created_at >= ?", filter.from);
    if (filter.to) add("created_at < ?", filter.to);
    const cond = where.length ? `WHERE ${where.join(" AND ")}` : "";
    const total = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM pipeline_runs ${cond}`, args);
    const rows = await q.query<RunRow>(
      `SELECT * FROM pipeline_runs ${cond} ORDER BY created_at DESC, id LIMIT $${args.length + 1} OFFSET $${args.length + 2}`,
      [...args, filter.limit, filter.offset],
    );
    return { total: total.rows[0]?.n ?? 0, rows: rows.rows };
  },

  /** Runs a supervision pass should look at: finished step tasks, due snoozes, runs never started. */
  async needingAttention(q: Queryable, limit: number): Promise<string[]> {
    const r = await q.query<{ id: string }>(
      `SELECT r.id FROM pipeline_runs r
       WHERE (r.state = 'snoozed' AND r.snoozed_until <= now())
          OR (r.state = 'running' AND EXISTS (
                SELECT 1 FROM pipeline_steps s LEFT JOIN tasks t ON t.id = s.task_id
                WHERE s.run_id = r.id AND s.state = 'running'
                  AND (s.task_id IS NULL OR t.state IN ('completed', 'failed', 'dead', 'cancelled'))))
          -- Paused too: a paused run still records its in-flight agent steps' outcomes (it only
          -- starts nothing new); a replica that missed the task's event must not leave them
          -- unrecorded. Built-in steps (no task) wait for the run to be resumed.
          OR (r.state = 'paused' AND EXISTS (
                SELECT 1 FROM pipeline_steps s JOIN tasks t ON t.id = s.task_id
                WHERE s.run_id = r.id AND s.state = 'running'
                  AND t.state IN ('completed', 'failed', 'dead', 'cancelled')))
          OR (r.state = 'running' AND r.updated_at < now() - interval '2 seconds' AND NOT EXISTS (
                SELECT 1 FROM pipeline_steps s WHERE s.run_id = r.id AND s.state = 'running'))
       ORDER BY r.updated_at LIMIT $1`,
      [limit],
    );
    return r.rows.map((row) => row.id);
  },

  /** Median duration of each step over the latest completed runs of a template version. */
  async stepHistory(
    q: Queryable,
    template: string,
    version: number,
    limitRuns = 200,
  ): Promise<Map<string, { medianMs: number; samples: number }>> {
    const r = await q.query<{ step_id: string; median_ms: number; samples: number }>(
      `WITH recent AS (
         SELECT id FROM pipeline_runs WHERE template = $1 AND template_version = $2 AND state = 'completed'
         ORDER BY finished_at DESC LIMIT $3
       )
       SELECT s.step_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY s.duration_ms)::float8 AS median_ms,
         count(*)::int AS samples
       FROM pipeline_steps s JOIN recent ON recent.id = s.run_id
       WHERE s.state = 'completed' AND s.duration_ms IS NOT NULL GROUP BY s.step_id`,
      [template, version, limitRuns],
    );
    return new Map(r.rows.map((row) => [row.step_id, { medianMs: row.median_ms, samples: row.samples }]));
  },
};
