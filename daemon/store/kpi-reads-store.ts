import { RUN_OUTCOMES, TASK_OUTCOMES } from "../../contract/figures.ts";
import type { Queryable } from "./pg-pool.ts";

/** The raw counts and sums of one KPI period (see kpiReadsStore.period). */
export interface KpiPeriodRow {
  tasks_completed: number;
  tasks_failed: number;
  tasks_active: number;
  runs_completed: number;
  runs_failed: number;
  runs_active: number;
  usd: string;
  input_tokens: string;
  output_tokens: string;
  task_ms: number | null;
  run_ms: number | null;
  feedback_n: number;
  feedback_avg: number | null;
}

/**
 * The KPIs' reads over tasks, task_attempts, pipeline_runs, llm_calls and feedback: one statement
 * per period, so a period's numbers come from one snapshot.
 */
export const kpiReadsStore = {
  /**
   * Finished tasks and runs, cost and tokens, completed attempts' durations and ratings in
   * `[from, to)` (from null: since the beginning), and the tasks and runs unfinished now. Which
   * states count as what is the figures registry's (contract/figures.ts): cancelled is neither.
   */
  async period(q: Queryable, from: Date | null, to: Date): Promise<KpiPeriodRow> {
    const r = await q.query<KpiPeriodRow>(
      `WITH t AS (
         SELECT count(*) FILTER (WHERE state = ANY($3))::int AS completed,
                count(*) FILTER (WHERE state = ANY($4))::int AS failed
         FROM tasks WHERE finished_at < $2 AND ($1::timestamptz IS NULL OR finished_at >= $1)
       ), r AS (
         SELECT count(*) FILTER (WHERE state = ANY($5))::int AS completed,
                count(*) FILTER (WHERE state = ANY($6))::int AS failed,
                (avg(EXTRACT(EPOCH FROM (finished_at - created_at)) * 1000) FILTER (WHERE state = ANY($5)))::float8 AS ms
         FROM pipeline_runs WHERE finished_at < $2 AND ($1::timestamptz IS NULL OR finished_at >= $1)
       ), c AS (
         SELECT round(coalesce(sum(cost_usd), 0), 8)::text AS usd,
                coalesce(sum(input_tokens), 0)::text AS input_tokens,
                coalesce(sum(output_tokens), 0)::text AS output_tokens
         FROM llm_calls WHERE at < $2 AND ($1::timestamptz IS NULL OR at >= $1)
       ), f AS (
         SELECT count(*)::int AS n, avg(score)::float8 AS avg
         FROM feedback WHERE at < $2 AND ($1::timestamptz IS NULL OR at >= $1)
       ), a AS (
         SELECT avg(EXTRACT(EPOCH FROM (finished_at - claimed_at)) * 1000)::float8 AS ms
         FROM task_attempts WHERE outcome = 'completed' AND finished_at < $2
           AND ($1::timestamptz IS NULL OR finished_at >= $1)
       )
       SELECT t.completed AS tasks_completed, t.failed AS tasks_failed,
              (SELECT count(*)::int FROM tasks WHERE state = ANY($7)) AS tasks_active,
              r.completed AS runs_completed, r.failed AS runs_failed,
              (SELECT count(*)::int FROM pipeline_runs WHERE state = ANY($8)) AS runs_active,
              c.usd, c.input_tokens, c.output_tokens, a.ms AS task_ms, r.ms AS run_ms,
              f.n AS feedback_n, f.avg AS feedback_avg
       FROM t, r, c, a, f`,
      [
        from,
        to,
        TASK_OUTCOMES.succeeded,
        TASK_OUTCOMES.failed,
        RUN_OUTCOMES.succeeded,
        RUN_OUTCOMES.failed,
        TASK_OUTCOMES.unfinished,
        RUN_OUTCOMES.unfinished,
      ],
    );
    const row = r.rows[0];
    if (!row) throw new Error("KPI query returned no row");
    return row;
  },
};
