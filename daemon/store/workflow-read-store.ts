import { RUN_OUTCOMES } from "../../contract/figures.ts";
import type { Queryable } from "./pg-pool.ts";
import type { RunRow } from "./pipeline-run-store.ts";

/**
 * What the workflow dashboards read of runs, their steps and tasks, and the audit log: history,
 * statistics, step performance, the pending queue and a run's audit trail. Reads only; every
 * figure is computed from the rows at request time.
 */

export interface WorkflowFilter {
  template?: string;
  /** Runs created at or after (ISO 8601). */
  from?: string;
  /** Runs created before (ISO 8601). */
  to?: string;
}

function where(filter: WorkflowFilter, extra: string[] = []): { sql: string; args: unknown[] } {
  const parts = [...extra];
  const args: unknown[] = [];
  if (filter.template) {
    args.push(filter.template);
    parts.push(`r.template = $${args.length}`);
  }
  if (filter.from) {
    args.push(filter.from);
    parts.push(`r.created_at >= $${args.length}`);
  }
  if (filter.to) {
    args.push(filter.to);
    parts.push(`r.created_at < $${args.length}`);
  }
  return { sql: parts.length ? `WHERE ${parts.join(" AND ")}` : "", args };
}

export interface TemplateStatsRow {
  template: string;
  total: number;
  running: number;
  paused: number;
  snoozed: number;
  completed: number;
  failed: number;
  cancelled: number;
  /** Runs that succeeded and failed by the figure run_success_rate (contract/figures.ts). */
  succeeded: number;
  unsuccessful: number;
  avg_ms: number | null;
  p95_ms: number | null;
}

export interface StepPerformanceRow {
  template: string;
  step_id: string;
  executions: number;
  completed: number;
  failed: number;
  avg_ms: number | null;
  p95_ms: number | null;
  retries: number;
}

export interface RunAuditRow {
  at: Date;
  actor: string;
  action: string;
  reason: string | null;
  data: unknown;
}

export const workflowReads = {
  /** One page of runs in `states`, newest finished first, with their durations (null unfinished). */
  async history(
    q: Queryable,
    filter: WorkflowFilter & { states: string[]; limit: number; offset: number },
  ): Promise<{ total: number; rows: Array<RunRow & { duration_ms: number | null }> }> {
    const w = where(filter, ["r.state = ANY($STATES)"]);
    const args = [...w.args, filter.states];
    const sql = w.sql.replace("$STATES", `$${args.length}`);
    const total = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM pipeline_runs r ${sql}`, args);
    const rows = await q.query<RunRow & { duration_ms: number | null }>(
      `SELECT r.*, (EXTRACT(EPOCH FROM (r.finished_at - r.created_at)) * 1000)::float8 AS duration_ms
       FROM pipeline_runs r ${sql} ORDER BY r.finished_at DESC NULLS LAST, r.id
       LIMIT $${args.length + 1} OFFSET $${args.length + 2}`,
      [...args, filter.limit, filter.offset],
    );
    return { total: total.rows[0]?.n ?? 0, rows: rows.rows };
  },

  /**
   * Counts by state, the outcomes of the figure run_success_rate (its state sets, so a cancelled
   * run is neither) and completed runs' durations (average, p95), by template.
   */
  async templateStatistics(q: Queryable, filter: WorkflowFilter): Promise<TemplateStatsRow[]> {
    const w = where(filter);
    const ok = `$${w.args.length + 1}::text[]`;
    const bad = `$${w.args.length + 2}::text[]`;
    const r = await q.query<TemplateStatsRow>(
      `SELECT r.template, count(*)::int AS total,
         count(*) FILTER (WHERE r.state = 'running')::int AS running,
         count(*) FILTER (WHERE r.state = 'paused')::int AS paused,
         count(*) FILTER (WHERE r.state = 'snoozed')::int AS snoozed,
         count(*) FILTER (WHERE r.state = 'completed')::int AS completed,
         count(*) FILTER (WHERE r.state = 'failed')::int AS failed,
         count(*) FILTER (WHERE r.state = 'cancelled')::int AS cancelled,
         count(*) FILTER (WHERE r.state = ANY(${ok}))::int AS succeeded,
         count(*) FILTER (WHERE r.state = ANY(${bad}))::int AS unsuccessful,
         (avg(EXTRACT(EPOCH FROM (r.finished_at - r.created_at)) * 1000) FILTER (WHERE r.state = 'completed'))::float8 AS avg_ms,
         (percentile_cont(0.95) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM (r.finished_at - r.created_at)) * 1000)
           FILTER (WHERE r.state = 'completed'))::float8 AS p95_ms
       FROM pipeline_runs r ${w.sql} GROUP BY r.template ORDER BY r.template`,
      [...w.args, RUN_OUTCOMES.succeeded, RUN_OUTCOMES.failed],
    );
    return r.rows;
  },

  /** Executions, outcomes, durations and retries of started steps, by template and step. */
  async stepPerformance(q: Queryable, filter: WorkflowFilter): Promise<StepPerformanceRow[]> {
    const w = where(filter);
    const r = await q.query<StepPerformanceRow>(
      `SELECT r.template, s.step_id, count(*)::int AS executions,
         count(*) FILTER (WHERE s.state = 'completed')::int AS completed,
         count(*) FILTER (WHERE s.state = 'failed')::int AS failed,
         (avg(s.duration_ms) FILTER (WHERE s.state = 'completed'))::float8 AS avg_ms,
         (percentile_cont(0.95) WITHIN GROUP (ORDER BY s.duration_ms) FILTER (WHERE s.state = 'completed'))::float8 AS p95_ms,
         (sum(GREATEST(COALESCE(t.attempts, 0) - 1, 0)) + sum(s.generation))::int AS retries
       FROM pipeline_steps s JOIN pipeline_runs r ON r.id = s.run_id LEFT JOIN tasks t ON t.id = s.task_id
       ${w.sql} ${w.sql ? "AND" : "WHERE"} s.state IN ('running', 'completed', 'failed')
       GROUP BY r.template, s.step_id ORDER BY r.template, s.step_id`,
      w.args,
    );
    return r.rows;
  },

  /** Runs not yet finished, most urgent first: escalated, then priority, then oldest. */
  async pending(q: Queryable, filter: WorkflowFilter & { limit: number }): Promise<RunRow[]> {
    const w = where(filter, ["r.state IN ('running', 'paused', 'snoozed')"]);
    const r = await q.query<RunRow>(
      `SELECT r.* FROM pipeline_runs r ${w.sql}
       ORDER BY r.escalated DESC, r.priority DESC, r.created_at, r.id LIMIT $${w.args.length + 1}`,
      [...w.args, filter.limit],
    );
    return r.rows;
  },

  /** The operator actions taken on a run, oldest first. */
  async runAuditTrail(q: Queryable, runId: string): Promise<RunAuditRow[]> {
    const r = await q.query<RunAuditRow>(
      `SELECT at, actor, action, reason, data FROM audit_log
       WHERE target_kind = 'pipeline_run' AND target_id = $1 ORDER BY id`,
      [runId],
    );
    return r.rows;
  },
};
