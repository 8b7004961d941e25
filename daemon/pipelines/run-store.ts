import type pg from "pg";
import type { Queryable } from "../store/task-store.ts";
import type { RunState, StepState } from "./run-plan.ts";

export interface RunRow {
  id: string;
  template: string;
  template_version: number;
  input: Record<string, unknown>;
  state: RunState;
  priority: number;
  escalated: boolean;
  idempotency_key: string | null;
  schedule_id: string | null;
  percent: number;
  current_step: string | null;
  message: string | null;
  snoozed_until: Date | null;
  output: unknown;
  error: unknown;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

export interface StepRow {
  run_id: string;
  step_id: string;
  position: number;
  state: StepState;
  generation: number;
  task_id: string | null;
  agent_id: string | null;
  input_override: Record<string, unknown> | null;
  progress: number | null;
  message: string | null;
  output: unknown;
  error: unknown;
  skip_reason: string | null;
  started_at: Date | null;
  finished_at: Date | null;
  duration_ms: number | null;
  /** Joined from the step's current task. */
  task_state: string | null;
  task_result: unknown;
  task_error: unknown;
  task_progress: number | null;
  task_message: string | null;
  task_agent_id: string | null;
  task_attempts: number | null;
  /** The agent of the step task's latest attempt (the lease is cleared once the task ends). */
  last_agent_id: string | null;
}

export interface NewRun {
  id: string;
  template: string;
  version: number;
  input: Record<string, unknown>;
  priority: number;
  idempotencyKey: string | null;
  scheduleId: string | null;
}

/** SQL for runs, steps and their timeline. Callers hold the transaction; this only speaks SQL. */
export const runSql = {
  /**
   * Inserts the run, its steps (all pending) and its `run.started` event in one statement, so an
   * accepted run costs one round trip and is never half-written. An existing idempotency key
   * returns that run instead.
   */
  async create(
    q: Queryable,
    run: NewRun,
    stepIds: string[],
    startedData: Record<string, unknown>,
  ): Promise<{ id: string; created: boolean }> {
    const inserted = await q.query<{ id: string }>(
      `WITH r AS (
         INSERT INTO pipeline_runs (id, template, template_version, input, state, priority, idempotency_key, schedule_id)
         VALUES ($1, $2, $3, $4, 'running', $5, $6, $7) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id
       ), s AS (
         INSERT INTO pipeline_steps (run_id, step_id, position, state)
         SELECT r.id, x.step_id, x.ord::int - 1, 'pending' FROM r, unnest($8::text[]) WITH ORDINALITY AS x(step_id, ord)
       ), e AS (
         INSERT INTO pipeline_events (run_id, type, data) SELECT r.id, 'run.started', $9 FROM r
       )
       SELECT id FROM r`,
      [
        run.id,
        run.template,
        run.version,
        JSON.stringify(run.input),
        run.priority,
        run.idempotencyKey,
        run.scheduleId,
        stepIds,
        JSON.stringify(startedData),
      ],
    );
    if (inserted.rows[0]) return { id: run.id, created: true };
    const existing = await q.query<{ id: string }>(
      "SELECT id FROM pipeline_runs WHERE idempotency_key = $1",
      [run.idempotencyKey],
    );
    return { id: existing.rows[0]?.id as string, created: false };
  },

  async lock(c: pg.PoolClient, id: string): Promise<RunRow | null> {
    const r = await c.query<RunRow>("SELECT * FROM pipeline_runs WHERE id = $1 FOR UPDATE", [id]);
    return r.rows[0] ?? null;
  },

  async get(q: Queryable, id: string): Promise<RunRow | null> {
    const r = await q.query<RunRow>("SELECT * FROM pipeline_runs WHERE id = $1", [id]);
    return r.rows[0] ?? null;
  },

  async steps(q: Queryable, runId: string): Promise<StepRow[]> {
    const r = await q.query<StepRow>(
      `SELECT s.*, t.state AS task_state, t.result AS task_result, t.error AS task_error,
         t.progress_percent AS task_progress, t.progress_message AS task_message,
         t.lease_agent_id AS task_agent_id, t.attempts AS task_attempts,
         (SELECT a.agent_id FROM task_attempts a WHERE a.task_id = s.task_id ORDER BY a.attempt DESC LIMIT 1)
           AS last_agent_id
       FROM pipeline_steps s LEFT JOIN tasks t ON t.id = s.task_id
       WHERE s.run_id = $1 ORDER BY s.position`,
      [runId],
    );
    return r.rows;
  },

  async updateStep(
    c: pg.PoolClient,
    runId: string,
    stepId: string,
    fields: Record<string, unknown>,
  ): Promise<void> {
    const cols = Object.keys(fields);
    const sets = cols.map((col, i) => `${col} = $${i + 3}`).join(", ");
    const values = cols.map((col) => {
      const v = fields[col];
      // jsonb columns take JSON text; everything else goes as is.
      return ["output", "error", "input_override"].includes(col) && v !== null ? JSON.stringify(v) : v;
    });
    await c.query(`UPDATE pipeline_steps SET ${sets} WHERE run_id = $1 AND step_id = $2`, [
      runId,
      stepId,
      ...values,
    ]);
  },

  async updateRun(c: pg.PoolClient, runId: string, fields: Record<string, unknown>): Promise<void> {
    const cols = Object.keys(fields);
    const sets = cols.map((col, i) => `${col} = $${i + 2}`).join(", ");
    const values = cols.map((col) => {
      const v = fields[col];
      return ["output", "error", "input"].includes(col) && v !== null ? JSON.stringify(v) : v;
    });
    await c.query(`UPDATE pipeline_runs SET ${sets}, updated_at = now() WHERE id = $1`, [runId, ...values]);
  },

  async event(
    q: Queryable,
    runId: string,
    type: string,
    stepId: string | null,
    data: Record<string, unknown> = {},
  ): Promise<void> {
    await q.query("INSERT INTO pipeline_events (run_id, type, step_id, data) VALUES ($1, $2, $3, $4)", [
      runId,
      type,
      stepId,
      JSON.stringify(data),
    ]);
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

  async runOfTask(q: Queryable, taskId: string): Promise<string | null> {
    const r = await q.query<{ run_id: string }>("SELECT run_id FROM pipeline_steps WHERE task_id = $1", [
      taskId,
    ]);
    return r.rows[0]?.run_id ?? null;
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
