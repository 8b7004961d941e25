import type { Db } from "../store/pg-pool.ts";
import type { PipelineService } from "./pipeline-service.ts";
import type { RunRow } from "./run-store.ts";

export interface WorkflowFilter {
  template?: string;
  from?: string;
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

/**
 * The history, statistics and queue reads the workflow dashboards call. Every figure is computed
 * from Postgres rows at request time; an empty history answers zeros and nulls, never samples.
 */
export class WorkflowReads {
  constructor(
    private readonly db: Db,
    private readonly pipelines: PipelineService,
  ) {}

  async history(filter: WorkflowFilter & { state?: string; limit: number; offset: number }) {
    const states = filter.state ? [filter.state] : ["completed", "failed", "cancelled"];
    const w = where(filter, [`r.state = ANY($STATES)`]);
    const args = [...w.args, states];
    const sql = w.sql.replace("$STATES", `$${args.length}`);
    const total = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pipeline_runs r ${sql}`,
      args,
    );
    const rows = await this.db.query<RunRow & { duration_ms: number }>(
      `SELECT r.*, (EXTRACT(EPOCH FROM (r.finished_at - r.created_at)) * 1000)::float8 AS duration_ms
       FROM pipeline_runs r ${sql} ORDER BY r.finished_at DESC NULLS LAST, r.id
       LIMIT $${args.length + 1} OFFSET $${args.length + 2}`,
      [...args, filter.limit, filter.offset],
    );
    return {
      total: total.rows[0]?.n ?? 0,
      limit: filter.limit,
      offset: filter.offset,
      runs: rows.rows.map((r) => ({ ...this.pipelines.summary(r), durationMs: Math.round(r.duration_ms) })),
    };
  }

  async details(id: string) {
    const run = await this.pipelines.view(id);
    const [artifacts, conversations, audit] = await Promise.all([
      this.db.query<{ id: string; step_id: string | null; type: string; title: string; created_at: Date }>(
        "SELECT id, step_id, type, title, created_at FROM artifacts WHERE run_id = $1 ORDER BY created_at, id",
        [id],
      ),
      this.db.query<{ id: string; step_id: string; title: string; state: string }>(
        "SELECT id, step_id, title, state FROM conversations WHERE run_id = $1 ORDER BY created_at, id",
        [id],
      ),
      this.db.query<{ at: Date; actor: string; action: string; reason: string | null; data: unknown }>(
        `SELECT at, actor, action, reason, data FROM audit_log
         WHERE target_kind = 'pipeline_run' AND target_id = $1 ORDER BY id`,
        [id],
      ),
    ]);
    return {
      run,
      artifacts: artifacts.rows.map((a) => ({
        id: a.id,
        stepId: a.step_id,
        type: a.type,
        title: a.title,
        createdAt: a.created_at.toISOString(),
      })),
      conversations: conversations.rows.map((c) => ({
        id: c.id,
        stepId: c.step_id,
        title: c.title,
        state: c.state,
      })),
      audit: audit.rows.map((a) => ({ ...a, at: a.at.toISOString() })),
    };
  }

  /** Counts, success rate and durations by template. */
  async statistics(filter: WorkflowFilter) {
    const w = where(filter);
    const r = await this.db.query<{
      template: string;
      total: number;
      running: number;
      paused: number;
      snoozed: number;
      completed: number;
      failed: number;
      cancelled: number;
      avg_ms: number | null;
      p95_ms: number | null;
    }>(
      `SELECT r.template, count(*)::int AS total,
         count(*) FILTER (WHERE r.state = 'running')::int AS running,
         count(*) FILTER (WHERE r.state = 'paused')::int AS paused,
         count(*) FILTER (WHERE r.state = 'snoozed')::int AS snoozed,
         count(*) FILTER (WHERE r.state = 'completed')::int AS completed,
         count(*) FILTER (WHERE r.state = 'failed')::int AS failed,
         count(*) FILTER (WHERE r.state = 'cancelled')::int AS cancelled,
         (avg(EXTRACT(EPOCH FROM (r.finished_at - r.created_at)) * 1000) FILTER (WHERE r.state = 'completed'))::float8 AS avg_ms,
         (percentile_cont(0.95) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM (r.finished_at - r.created_at)) * 1000)
           FILTER (WHERE r.state = 'completed'))::float8 AS p95_ms
       FROM pipeline_runs r ${w.sql} GROUP BY r.template ORDER BY r.template`,
      w.args,
    );
    return {
      templates: r.rows.map((row) => {
        const finished = row.completed + row.failed + row.cancelled;
        return {
          template: row.template,
          total: row.total,
          byState: {
            running: row.running,
            paused: row.paused,
            snoozed: row.snoozed,
            completed: row.completed,
            failed: row.failed,
            cancelled: row.cancelled,
          },
          // Of the runs that finished; null (not 0) when none has.
          successRate: finished > 0 ? row.completed / finished : null,
          avgDurationMs: row.avg_ms === null ? null : Math.round(row.avg_ms),
          p95DurationMs: row.p95_ms === null ? null : Math.round(row.p95_ms),
        };
      }),
    };
  }

  /** Step durations, retries and failures by template and step, and each template's bottleneck. */
  async performance(filter: WorkflowFilter) {
    const w = where(filter);
    const r = await this.db.query<{
      template: string;
      step_id: string;
      executions: number;
      completed: number;
      failed: number;
      avg_ms: number | null;
      p95_ms: number | null;
      retries: number;
    }>(
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
    const byTemplate = new Map<string, Array<(typeof r.rows)[number]>>();
    for (const row of r.rows) byTemplate.set(row.template, [...(byTemplate.get(row.template) ?? []), row]);
    return {
      templates: [...byTemplate].map(([template, steps]) => {
        const timed = steps.filter((s) => s.avg_ms !== null);
        const bottleneck = timed.length
          ? timed.reduce((a, b) => ((b.avg_ms ?? 0) > (a.avg_ms ?? 0) ? b : a)).step_id
          : null;
        return {
          template,
          bottleneckStep: bottleneck,
          steps: steps.map((s) => ({
            stepId: s.step_id,
            executions: s.executions,
            completed: s.completed,
            failed: s.failed,
            retries: s.retries,
            avgDurationMs: s.avg_ms === null ? null : Math.round(s.avg_ms),
            p95DurationMs: s.p95_ms === null ? null : Math.round(s.p95_ms),
          })),
        };
      }),
    };
  }

  /** Runs not yet finished, most urgent first: escalated, then priority, then oldest. */
  async pending(filter: WorkflowFilter & { limit: number }) {
    const w = where(filter, ["r.state IN ('running', 'paused', 'snoozed')"]);
    const r = await this.db.query<RunRow>(
      `SELECT r.* FROM pipeline_runs r ${w.sql}
       ORDER BY r.escalated DESC, r.priority DESC, r.created_at, r.id LIMIT $${w.args.length + 1}`,
      [...w.args, filter.limit],
    );
    return {
      runs: r.rows.map((row) => ({
        ...this.pipelines.summary(row),
        currentStep: row.current_step,
        message: row.message,
      })),
    };
  }
}
