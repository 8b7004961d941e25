import type { RunState, StepState } from "../../contract/schemas/pipelines.ts";
import type { Queryable, Tx } from "./pg-pool.ts";
import { countsOf } from "./purge-batch.ts";

/**
 * The writer of a run's three tables: `pipeline_runs`, `pipeline_steps` (one row per step of a
 * run: its current generation) and `pipeline_events` (the run's durable timeline). They are one
 * aggregate: a run is created with its steps and first event in one statement, and every later
 * change is made under the run's row lock. Callers hold the transaction; this only speaks SQL.
 */

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

/** The columns of a run that change after it is created. */
export type RunUpdate = Partial<
  Pick<
    RunRow,
    | "state"
    | "percent"
    | "priority"
    | "escalated"
    | "current_step"
    | "message"
    | "snoozed_until"
    | "output"
    | "error"
    | "finished_at"
  >
>;

/** The columns of a step that change after its run is created. */
export type StepUpdate = Partial<
  Pick<
    StepRow,
    | "state"
    | "generation"
    | "task_id"
    | "agent_id"
    | "input_override"
    | "progress"
    | "message"
    | "output"
    | "error"
    | "skip_reason"
    | "started_at"
    | "finished_at"
    | "duration_ms"
  >
>;

const RUN_JSON: ReadonlySet<string> = new Set(["output", "error"]);
const STEP_JSON: ReadonlySet<string> = new Set(["output", "error", "input_override"]);

/** `col = $n, ...` from `fields` (whose keys are typed column names), numbering from `first`. */
function assignments(
  fields: Record<string, unknown>,
  json: ReadonlySet<string>,
  first: number,
): { sets: string; values: unknown[] } {
  const cols = Object.keys(fields);
  return {
    sets: cols.map((col, i) => `${col} = $${i + first}`).join(", "),
    // jsonb columns take JSON text; everything else goes as is.
    values: cols.map((col) => {
      const v = fields[col];
      return json.has(col) && v !== null ? JSON.stringify(v) : v;
    }),
  };
}

/** `pipeline_runs`. */
export const pipelineRuns = {
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

  /** The run, locked for the rest of the transaction: every change to a run is made under it. */
  async lock(tx: Tx, id: string): Promise<RunRow | null> {
    const r = await tx.query<RunRow>("SELECT * FROM pipeline_runs WHERE id = $1 FOR UPDATE", [id]);
    return r.rows[0] ?? null;
  },

  async get(q: Queryable, id: string): Promise<RunRow | null> {
    const r = await q.query<RunRow>("SELECT * FROM pipeline_runs WHERE id = $1", [id]);
    return r.rows[0] ?? null;
  },

  /** Sets the given columns (and `updated_at`). */
  async update(tx: Tx, runId: string, fields: RunUpdate): Promise<void> {
    const { sets, values } = assignments(fields, RUN_JSON, 2);
    await tx.query(`UPDATE pipeline_runs SET ${sets}, updated_at = now() WHERE id = $1`, [runId, ...values]);
  },

  /** Moves the run to the back of the sweep's queue (its `updated_at` is the queue's order). */
  async touch(q: Queryable, runId: string): Promise<void> {
    await q.query("UPDATE pipeline_runs SET updated_at = now() WHERE id = $1", [runId]);
  },

  /**
   * Retention: locks up to `limit` runs that finished before the cutoff, oldest first, skipping any
   * another transaction holds (this pass leaves it for the next). The caller deletes their children
   * (artifacts, conversations, approvals) and then the runs with `deleteRuns`, in this transaction.
   */
  async lockFinishedBefore(tx: Tx, cutoff: Date, limit: number): Promise<string[]> {
    const r = await tx.query<{ id: string }>(
      `SELECT id FROM pipeline_runs
       WHERE state IN ('completed', 'failed', 'cancelled') AND finished_at < $1
       ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [cutoff, limit],
    );
    return r.rows.map((x) => x.id);
  },

  /** Retention: deletes locked runs with their steps and events; the rows deleted per table. */
  async deleteRuns(tx: Tx, runIds: string[]): Promise<Record<string, number>> {
    const r = await tx.query<Record<string, number>>(
      `WITH d_events AS (DELETE FROM pipeline_events WHERE run_id = ANY($1::uuid[]) RETURNING 1),
       d_steps AS (DELETE FROM pipeline_steps WHERE run_id = ANY($1::uuid[]) RETURNING 1),
       d_runs AS (DELETE FROM pipeline_runs WHERE id = ANY($1::uuid[]) RETURNING 1)
       ${countsOf({ d_runs: "pipeline_runs", d_steps: "pipeline_steps", d_events: "pipeline_events" })}`,
      [runIds],
    );
    return r.rows[0] ?? {};
  },
};

/** `pipeline_steps`. */
export const pipelineSteps = {
  /** The run's steps in position order, each with what the engine needs of its current task. */
  async ofRun(q: Queryable, runId: string): Promise<StepRow[]> {
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

  /** Sets the given columns of one step. */
  async update(tx: Tx, runId: string, stepId: string, fields: StepUpdate): Promise<void> {
    const { sets, values } = assignments(fields, STEP_JSON, 3);
    await tx.query(`UPDATE pipeline_steps SET ${sets} WHERE run_id = $1 AND step_id = $2`, [
      runId,
      stepId,
      ...values,
    ]);
  },

  /**
   * Records a running step task's progress report in one statement (no run lock): the percent only
   * rises, a missing message keeps the last one. Null when the task is no running step's.
   */
  async noteProgress(
    q: Queryable,
    taskId: string,
    percent: number | null,
    message: string | null,
  ): Promise<{ runId: string; stepId: string; template: string } | null> {
    const r = await q.query<{ run_id: string; step_id: string; template: string }>(
      `UPDATE pipeline_steps s SET progress = GREATEST(COALESCE(s.progress, 0), COALESCE($2, s.progress, 0)),
         message = COALESCE($3, s.message)
       FROM pipeline_runs r
       WHERE s.task_id = $1 AND s.state = 'running' AND r.id = s.run_id
       RETURNING s.run_id, s.step_id, r.template`,
      [taskId, percent, message],
    );
    const row = r.rows[0];
    return row ? { runId: row.run_id, stepId: row.step_id, template: row.template } : null;
  },

  /** The run whose step the task is (null for a plain task). */
  async runOfTask(q: Queryable, taskId: string): Promise<string | null> {
    const r = await q.query<{ run_id: string }>("SELECT run_id FROM pipeline_steps WHERE task_id = $1", [
      taskId,
    ]);
    return r.rows[0]?.run_id ?? null;
  },

  /** Whether `agentId` holds the lease of the step's current task (agents act only on their own steps). */
  async leaseHeldBy(q: Queryable, runId: string, stepId: string, agentId: string): Promise<boolean> {
    const r = await q.query(
      `SELECT 1 FROM pipeline_steps s JOIN tasks t ON t.id = s.task_id
       WHERE s.run_id = $1 AND s.step_id = $2 AND t.state = 'active' AND t.lease_agent_id = $3`,
      [runId, stepId, agentId],
    );
    return r.rows.length > 0;
  },
};

export interface RunEventRow {
  id: string;
  at: Date;
  type: string;
  step_id: string | null;
  data: unknown;
}

/** `pipeline_events`. */
export const pipelineEvents = {
  async append(
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

  /** The run's latest `limit` events, oldest first. */
  async latest(q: Queryable, runId: string, limit = 200): Promise<RunEventRow[]> {
    const r = await q.query<RunEventRow>(
      "SELECT id, at, type, step_id, data FROM pipeline_events WHERE run_id = $1 ORDER BY id DESC LIMIT $2",
      [runId, limit],
    );
    return r.rows.reverse();
  },
};
