import type pg from "pg";
import { OverseerError } from "../errors/overseer-error.ts";
import {
  type AttemptOutcome,
  decideAfterAttempt,
  type FailureDecision,
  type TaskState,
} from "../tasks/task-state.ts";
import { type Db, withTransaction } from "./pg-pool.ts";
import {
  type AttemptView,
  type EnqueueOrder,
  iso,
  type Lease,
  type NewTask,
  type TaskView,
} from "./task-rows.ts";

export interface AttemptEnd {
  taskId: string;
  type: string;
  agentId: string;
  attempt: number;
  outcome: Exclude<AttemptOutcome, "completed" | "cancelled">;
  category: string;
  retryable: boolean;
  durationMs: number;
  decision: FailureDecision;
  priority: number;
  /** For the attempt's span (docs/tracing.md): Postgres times and the task's trace parent. */
  claimedAt: Date;
  finishedAt: Date;
  createdAt: Date;
  traceParent: string | null;
  message: string | null;
}

/** A task cancelled inside a transaction; `attempt` is the lease it revoked, if it was active. */
export interface CancelledTask {
  taskId: string;
  type: string;
  agentId: string | null;
  reason: string;
  createdAt: Date;
  finishedAt: Date;
  traceParent: string | null;
  attempts: number;
  attempt: { attempt: number; claimedAt: Date } | null;
}

export interface RetryPolicy {
  delayMs: (failuresSoFar: number) => number;
}

interface LockedTask {
  id: string;
  type: string;
  priority: number;
  attempts: number;
  failures: number;
  max_attempts: number;
  lease_token: string;
  lease_agent_id: string;
  claimed_at: Date;
  created_at: Date;
  trace_parent: string | null;
}

/** What a locked task's attempt end reads (`LockedTask`). */
const LOCKED_COLUMNS =
  "id, type, priority, attempts, failures, max_attempts, lease_token, lease_agent_id, claimed_at, created_at, trace_parent";

/** A completion; the times and trace parent are for the attempt's span (absent for a repeat). */
export interface CompletedTask {
  type: string;
  attempt: number;
  durationMs: number;
  repeated: boolean;
  claimedAt?: Date;
  finishedAt?: Date;
  createdAt?: Date;
  traceParent?: string | null;
}

/** A pool or a transaction's client. */
export type Queryable = Pick<pg.PoolClient, "query">;

/** Postgres access for tasks and attempts: every lease check is a conditional write here. */
export class TaskStore {
  constructor(
    private readonly db: Db,
    private readonly retry: RetryPolicy,
  ) {}

  /**
   * Inserts a task, or returns the existing one for a repeated idempotency key. Committed on return,
   * unless `q` is a transaction's client (a pipeline step's task commits with the step).
   */
  async insert(
    task: NewTask,
    q: Queryable = this.db,
  ): Promise<{ id: string; created: boolean; state: TaskState }> {
    const inserted = await q.query<{ id: string }>(
      `INSERT INTO tasks (id, type, payload, priority, max_attempts, timeout_ms, idempotency_key, trace_parent, state)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued')
       ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`,
      [
        task.id,
        task.type,
        JSON.stringify(task.payload ?? null),
        task.priority,
        task.maxAttempts,
        task.timeoutMs,
        task.idempotencyKey,
        task.traceParent ?? null,
      ],
    );
    if (inserted.rows[0]) return { id: inserted.rows[0].id, created: true, state: "queued" };
    const existing = await q.query<{ id: string; state: TaskState }>(
      "SELECT id, state FROM tasks WHERE idempotency_key = $1",
      [task.idempotencyKey],
    );
    const row = existing.rows[0];
    if (!row) throw new Error("idempotency conflict but no existing task");
    return { id: row.id, created: false, state: row.state };
  }

  /**
   * Grants a lease on a queued task to a live agent, with a fresh fencing token, and records the
   * attempt, in one statement. Returns null when the task is no longer queued (claimed elsewhere,
   * finished, or the queue entry was stale) or the agent is no longer live.
   */
  async lease(taskId: string, agentId: string): Promise<Lease | null> {
    const result = await this.db.query<{
      id: string;
      type: string;
      payload: unknown;
      attempts: number;
      lease_token: string;
      timeout_ms: number;
      wait_ms: number;
      trace_parent: string | null;
    }>(
      `WITH t AS (
         UPDATE tasks SET state = 'active', attempts = attempts + 1, lease_token = nextval('lease_token_seq'),
           lease_agent_id = $2, claimed_at = now(), lease_expires_at = now() + timeout_ms * interval '1 millisecond',
           progress_percent = NULL, progress_message = NULL, updated_at = now()
         WHERE id = $1 AND state = 'queued'
           AND EXISTS (SELECT 1 FROM agents WHERE id = $2 AND state IN ('active', 'stale'))
         RETURNING id, type, payload, attempts, lease_token, timeout_ms, claimed_at, trace_parent,
           GREATEST(0, EXTRACT(EPOCH FROM (claimed_at - ready_at)) * 1000)::float8 AS wait_ms
       ), a AS (
         INSERT INTO task_attempts (task_id, attempt, agent_id, lease_token, claimed_at)
         SELECT id, attempts, $2, lease_token, claimed_at FROM t
       )
       SELECT id, type, payload, attempts, lease_token, timeout_ms, wait_ms, trace_parent FROM t`,
      [taskId, agentId],
    );
    const row = result.rows[0];
    if (!row) return null;
    return {
      id: row.id,
      type: row.type,
      payload: row.payload,
      attempt: row.attempts,
      leaseToken: String(row.lease_token),
      timeoutMs: row.timeout_ms,
      queueWaitMs: Math.round(row.wait_ms),
      traceParent: row.trace_parent,
    };
  }

  /**
   * Cancels a queued or active task inside the caller's transaction: an active lease is revoked (its
   * attempt ends `cancelled`, a late complete gets 409). Returns null when the task had already ended.
   * The caller removes the dispatch entry and tells the agent after commit.
   */
  async cancel(client: pg.PoolClient, taskId: string, reason: string): Promise<CancelledTask | null> {
    // Lock and read first, in a statement of its own: under READ COMMITTED the next statement then
    // sees an attempt row that a claim committed while this one waited for the lock. An archived task
    // (clear_task_queue) can be cancelled too, so a restore does not bring it back.
    const locked = await client.query<{
      type: string;
      lease_token: string | null;
      lease_agent_id: string | null;
      attempts: number;
      claimed_at: Date | null;
      created_at: Date;
      trace_parent: string | null;
    }>(
      `SELECT type, lease_token, lease_agent_id, attempts, claimed_at, created_at, trace_parent
       FROM tasks WHERE id = $1 AND state IN ('queued', 'active', 'archived') FOR UPDATE`,
      [taskId],
    );
    const row = locked.rows[0];
    if (!row) return null;
    const ended = await client.query<{ finished_at: Date }>(
      `UPDATE tasks SET state = 'cancelled', lease_token = NULL, lease_agent_id = NULL, lease_expires_at = NULL,
         finished_at = now(), updated_at = now(), error = $2 WHERE id = $1 RETURNING finished_at`,
      [taskId, JSON.stringify({ message: reason, category: "cancelled", retryable: false })],
    );
    if (row.lease_token) {
      await client.query(
        "UPDATE task_attempts SET outcome = 'cancelled', finished_at = now() WHERE task_id = $1 AND lease_token = $2",
        [taskId, row.lease_token],
      );
    }
    return {
      taskId,
      type: row.type,
      agentId: row.lease_agent_id,
      reason,
      createdAt: row.created_at,
      finishedAt: ended.rows[0]?.finished_at ?? new Date(),
      traceParent: row.trace_parent,
      attempts: row.attempts,
      attempt:
        row.lease_token && row.claimed_at ? { attempt: row.attempts, claimedAt: row.claimed_at } : null,
    };
  }

  /**
   * Locks tasks in id order, the order the agent-death path uses, so a transaction that goes on to
   * change several of them cannot deadlock with it.
   */
  async lockInOrder(client: pg.PoolClient, taskIds: string[]): Promise<void> {
    if (taskIds.length === 0) return;
    await client.query("SELECT id FROM tasks WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE", [taskIds]);
  }

  /** Gives the queued ones of `taskIds` a new priority inside the caller's transaction; returns them. */
  async reprioritizeQueued(
    client: pg.PoolClient,
    taskIds: string[],
    priority: number,
  ): Promise<Array<{ id: string; type: string }>> {
    if (taskIds.length === 0) return [];
    const moved = await client.query<{ id: string; type: string }>(
      `UPDATE tasks SET priority = $2, updated_at = now() WHERE state = 'queued' AND id = ANY($1::uuid[])
       RETURNING id, type`,
      [taskIds, priority],
    );
    return moved.rows;
  }

  /** The enqueue order for a task that is queued now, or null when it is in any other state. */
  async queuedOrder(taskId: string): Promise<EnqueueOrder | null> {
    const found = await this.db.query<{ type: string; priority: number; delay_ms: number }>(
      `SELECT type, priority, GREATEST(0, EXTRACT(EPOCH FROM (ready_at - now())) * 1000)::float8 AS delay_ms
       FROM tasks WHERE id = $1 AND state = 'queued'`,
      [taskId],
    );
    const row = found.rows[0];
    return row
      ? { id: taskId, type: row.type, priority: row.priority, delayMs: Math.round(row.delay_ms) }
      : null;
  }

  /**
   * Completes the task if `leaseToken` is its current lease; a repeat of the same lease's completion
   * is idempotent (`repeated`); anything else throws 409/403/404.
   */
  async complete(
    taskId: string,
    leaseToken: string,
    agentId: string,
    result: unknown,
    traceparent: string | null = null,
  ): Promise<CompletedTask> {
    const updated = await this.db.query<{
      type: string;
      attempts: number;
      duration_ms: number;
      claimed_at: Date;
      finished_at: Date;
      created_at: Date;
      trace_parent: string | null;
    }>(
      `WITH t AS (
         UPDATE tasks SET state = 'completed', result = $4, finished_at = now(), updated_at = now(),
           lease_token = NULL, lease_agent_id = NULL, lease_expires_at = NULL, progress_percent = 100
         WHERE id = $1 AND state = 'active' AND lease_token = $2 AND lease_agent_id = $3
           AND lease_expires_at > now()
         RETURNING id, type, attempts, claimed_at, finished_at, created_at, trace_parent
       ), a AS (
         UPDATE task_attempts SET outcome = 'completed', finished_at = t.finished_at, traceparent = $5
         FROM t WHERE task_attempts.task_id = t.id AND task_attempts.lease_token = $2
       )
       SELECT type, attempts, claimed_at, finished_at, created_at, trace_parent,
         (EXTRACT(EPOCH FROM (finished_at - claimed_at)) * 1000)::float8 AS duration_ms FROM t`,
      [taskId, leaseToken, agentId, JSON.stringify(result ?? null), traceparent],
    );
    const row = updated.rows[0];
    if (row) {
      return {
        type: row.type,
        attempt: row.attempts,
        durationMs: row.duration_ms,
        repeated: false,
        claimedAt: row.claimed_at,
        finishedAt: row.finished_at,
        createdAt: row.created_at,
        traceParent: row.trace_parent,
      };
    }
    // A retried completion whose first try landed (its answer was lost) is answered as a success,
    // without completing anything again.
    const earlier = await this.db.query<{ type: string; attempt: number }>(
      `SELECT t.type, a.attempt FROM task_attempts a JOIN tasks t ON t.id = a.task_id
       WHERE a.task_id = $1 AND a.lease_token = $2 AND a.agent_id = $3 AND a.outcome = 'completed'`,
      [taskId, leaseToken, agentId],
    );
    const done = earlier.rows[0];
    if (done) return { type: done.type, attempt: done.attempt, durationMs: 0, repeated: true };
    throw await this.leaseProblem(this.db, taskId, leaseToken, agentId);
  }

  /**
   * Records progress if the lease is current and within the task's timeout. (Liveness comes from
   * heartbeats; progress does not extend the timeout.)
   */
  async progress(
    taskId: string,
    leaseToken: string,
    agentId: string,
    percent: number | undefined,
    message: string | undefined,
  ): Promise<{ type: string }> {
    const updated = await this.db.query<{ type: string }>(
      `UPDATE tasks SET progress_percent = COALESCE($4, progress_percent),
         progress_message = COALESCE($5, progress_message), updated_at = now()
       WHERE id = $1 AND state = 'active' AND lease_token = $2 AND lease_agent_id = $3
         AND lease_expires_at > now() RETURNING type`,
      [taskId, leaseToken, agentId, percent ?? null, message ?? null],
    );
    const row = updated.rows[0];
    if (!row) throw await this.leaseProblem(this.db, taskId, leaseToken, agentId);
    return row;
  }

  /**
   * Ends the attempt held by `leaseToken` without completion (agent-reported failure or release):
   * decides retry, requeue, dead-letter or permanent failure, in one transaction.
   */
  async endAttemptByLease(
    taskId: string,
    leaseToken: string,
    agentId: string,
    outcome: "failed" | "released",
    error: { message: string; category: string; retryable: boolean } | null,
    traceparent: string | null = null,
  ): Promise<AttemptEnd> {
    return withTransaction(this.db, async (client) => {
      const locked = await client.query<LockedTask>(
        `SELECT ${LOCKED_COLUMNS}
         FROM tasks WHERE id = $1 AND state = 'active' AND lease_token = $2 AND lease_agent_id = $3 FOR UPDATE`,
        [taskId, leaseToken, agentId],
      );
      const task = locked.rows[0];
      if (!task) throw await this.leaseProblem(client, taskId, leaseToken, agentId);
      return this.endAttempt(client, task, outcome, error, traceparent);
    });
  }

  /**
   * Ends every lease an agent holds (it died or left). `lost` counts against maxAttempts and
   * `released` does not; both put the task straight back on the queue.
   */
  async endLeasesOfAgent(
    client: pg.PoolClient,
    agentId: string,
    outcome: "lost" | "released",
    message: string,
  ): Promise<AttemptEnd[]> {
    const locked = await client.query<LockedTask>(
      `SELECT ${LOCKED_COLUMNS}
       FROM tasks WHERE lease_agent_id = $1 AND state = 'active' ORDER BY id FOR UPDATE`,
      [agentId],
    );
    const ends: AttemptEnd[] = [];
    for (const task of locked.rows) {
      ends.push(
        await this.endAttempt(client, task, outcome, {
          message,
          category: "lost_heartbeat",
          retryable: true,
        }),
      );
    }
    return ends;
  }

  /** Ends attempts that overran their task's timeout; returns what was decided for each. */
  async expireOverdueLeases(limit = 500): Promise<AttemptEnd[]> {
    return withTransaction(this.db, async (client) => {
      const locked = await client.query<LockedTask & { timeout_ms: number }>(
        `SELECT ${LOCKED_COLUMNS}, timeout_ms
         FROM tasks WHERE state = 'active' AND lease_expires_at < now()
         ORDER BY lease_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      const ends: AttemptEnd[] = [];
      for (const task of locked.rows) {
        ends.push(
          await this.endAttempt(client, task, "timed_out", {
            message: `timed out after ${task.timeout_ms} ms`,
            category: "timeout",
            retryable: true,
          }),
        );
      }
      return ends;
    });
  }

  /** Leases held by agents that are no longer live (a crash between marking an agent dead and revoking). */
  async orphanedLeaseHolders(): Promise<string[]> {
    const result = await this.db.query<{ lease_agent_id: string }>(
      `SELECT DISTINCT t.lease_agent_id FROM tasks t
       LEFT JOIN agents a ON a.id = t.lease_agent_id
       WHERE t.state = 'active' AND (a.id IS NULL OR a.state IN ('dead', 'left'))`,
    );
    return result.rows.map((r) => r.lease_agent_id);
  }

  /**
   * Leases held by live agents for longer than `minAgeMs` (reconciler input: each must be in the
   * Redis lease mirror, or a lease the agent never learned of would wait for its timeout).
   */
  async leasesOfLiveAgents(minAgeMs: number): Promise<Array<{ agentId: string; taskId: string }>> {
    const result = await this.db.query<{ agent_id: string; task_id: string }>(
      `SELECT t.lease_agent_id AS agent_id, t.id AS task_id FROM tasks t
       JOIN agents a ON a.id = t.lease_agent_id
       WHERE t.state = 'active' AND a.state IN ('active', 'stale', 'draining')
         AND t.claimed_at < now() - $1 * interval '1 millisecond'`,
      [minAgeMs],
    );
    return result.rows.map((r) => ({ agentId: r.agent_id, taskId: r.task_id }));
  }

  private async endAttempt(
    client: pg.PoolClient,
    task: LockedTask,
    outcome: Exclude<AttemptOutcome, "completed" | "cancelled">,
    error: { message: string; category: string; retryable: boolean } | null,
    traceparent: string | null = null,
  ): Promise<AttemptEnd> {
    const counts = outcome !== "released";
    const failuresSoFar = task.failures + (counts ? 1 : 0);
    const decision = decideAfterAttempt({
      outcome,
      retryable: error?.retryable ?? true,
      failuresSoFar,
      maxAttempts: task.max_attempts,
      errorMessage: error?.message ?? outcome,
      delayMs: this.retry.delayMs,
    });
    const errorJson = error ? JSON.stringify(error) : null;
    const ended = await client.query<{ duration_ms: number; claimed_at: Date; finished_at: Date }>(
      `UPDATE task_attempts SET outcome = $3, finished_at = now(), error = $4, traceparent = $5
       WHERE task_id = $1 AND lease_token = $2
       RETURNING claimed_at, finished_at, (EXTRACT(EPOCH FROM (finished_at - claimed_at)) * 1000)::float8 AS duration_ms`,
      [task.id, task.lease_token, outcome, errorJson, traceparent],
    );
    const common = `lease_token = NULL, lease_agent_id = NULL, lease_expires_at = NULL, updated_at = now(),
      failures = $2, error = COALESCE($3, error)`;
    if (decision.kind === "retry" || decision.kind === "requeue") {
      const delayMs = decision.kind === "retry" ? decision.delayMs : 0;
      await client.query(
        `UPDATE tasks SET state = 'queued', ${common}, ready_at = now() + $4 * interval '1 millisecond' WHERE id = $1`,
        [task.id, failuresSoFar, errorJson, delayMs],
      );
    } else {
      await client.query(
        `UPDATE tasks SET state = $4, ${common}, dead_reason = $5, finished_at = now() WHERE id = $1`,
        [task.id, failuresSoFar, errorJson, decision.kind, decision.reason],
      );
    }
    return {
      taskId: task.id,
      type: task.type,
      agentId: task.lease_agent_id,
      attempt: task.attempts,
      outcome,
      category: error?.category ?? "unknown",
      retryable: error?.retryable ?? true,
      durationMs: ended.rows[0]?.duration_ms ?? 0,
      decision,
      priority: task.priority,
      claimedAt: ended.rows[0]?.claimed_at ?? task.claimed_at,
      finishedAt: ended.rows[0]?.finished_at ?? new Date(),
      createdAt: task.created_at,
      traceParent: task.trace_parent,
      message: error?.message ?? null,
    };
  }

  /** Explains why a lease check failed: unknown task (404), another agent's lease (403) or stale lease (409). */
  private async leaseProblem(
    q: Db | pg.PoolClient,
    taskId: string,
    leaseToken: string,
    agentId: string,
  ): Promise<OverseerError> {
    const found = await q.query<{ state: TaskState; lease_token: string | null; owner: string | null }>(
      `SELECT t.state, t.lease_token, (SELECT agent_id FROM task_attempts WHERE lease_token = $2) AS owner
       FROM tasks t WHERE t.id = $1`,
      [taskId, leaseToken],
    );
    const row = found.rows[0];
    if (!row) return new OverseerError("OVS_ERR_TASK_NOT_FOUND", `no task ${taskId}`);
    if (row.owner !== null && row.owner !== agentId) {
      return new OverseerError("OVS_ERR_FORBIDDEN", "this lease belongs to another agent");
    }
    return new OverseerError(
      "OVS_ERR_LEASE_CONFLICT",
      `lease ${leaseToken} is not the current lease of task ${taskId}`,
      {
        state: row.state,
      },
    );
  }

  /** Puts a dead or failed task back on the queue with a fresh attempt budget. */
  async retryByOperator(taskId: string): Promise<EnqueueOrder & { from: TaskState }> {
    const updated = await this.db.query<{ type: string; priority: number; from: TaskState }>(
      `WITH old AS (SELECT id, state FROM tasks WHERE id = $1 FOR UPDATE)
       UPDATE tasks t SET state = 'queued', failures = 0, ready_at = now(), updated_at = now(), finished_at = NULL,
         dead_reason = NULL
       FROM old WHERE t.id = old.id AND old.state IN ('dead', 'failed')
       RETURNING t.type, t.priority, old.state AS from`,
      [taskId],
    );
    const row = updated.rows[0];
    if (row) return { id: taskId, type: row.type, priority: row.priority, delayMs: 0, from: row.from };
    const exists = await this.db.query<{ state: TaskState }>("SELECT state FROM tasks WHERE id = $1", [
      taskId,
    ]);
    if (!exists.rows[0]) throw new OverseerError("OVS_ERR_TASK_NOT_FOUND", `no task ${taskId}`);
    throw new OverseerError(
      "OVS_ERR_TASK_STATE_CONFLICT",
      `task ${taskId} is ${exists.rows[0].state}; only dead or failed tasks can be retried`,
      { state: exists.rows[0].state },
    );
  }

  /** One task with its attempts, or null. */
  async get(taskId: string): Promise<TaskView | null> {
    const found = await this.db.query("SELECT * FROM tasks WHERE id = $1", [taskId]);
    const t = found.rows[0];
    if (!t) return null;
    const attempts = await this.db.query(
      "SELECT attempt, agent_id, claimed_at, finished_at, outcome, error FROM task_attempts WHERE task_id = $1 ORDER BY attempt",
      [taskId],
    );
    const view: TaskView = {
      id: t.id,
      type: t.type,
      state: t.state,
      payload: t.payload,
      priority: t.priority,
      maxAttempts: t.max_attempts,
      timeoutMs: t.timeout_ms,
      idempotencyKey: t.idempotency_key,
      attempts: attempts.rows.map(
        (a): AttemptView => ({
          attempt: a.attempt,
          agentId: a.agent_id,
          claimedAt: iso(a.claimed_at) ?? "",
          finishedAt: iso(a.finished_at),
          outcome: a.outcome,
          error: a.error,
        }),
      ),
      failures: t.failures,
      progress: t.state === "active" ? { percent: t.progress_percent, message: t.progress_message } : null,
      leaseAgentId: t.lease_agent_id,
      nextAttemptAt: t.state === "queued" ? iso(t.ready_at) : null,
      createdAt: iso(t.created_at) ?? "",
      updatedAt: iso(t.updated_at) ?? "",
      finishedAt: iso(t.finished_at),
    };
    if (t.result !== null) view.result = t.result;
    if (t.error !== null) view.error = t.error;
    if (t.dead_reason !== null) view.deadReason = t.dead_reason;
    return view;
  }

  /** Queued tasks that have waited at least `minAgeMs` since they became claimable (reconciler input). */
  async queuedOlderThan(
    minAgeMs: number,
    limit: number,
  ): Promise<Array<{ id: string; type: string; priority: number; delayMs: number }>> {
    const result = await this.db.query<{ id: string; type: string; priority: number; delay_ms: number }>(
      `SELECT id, type, priority, GREATEST(0, EXTRACT(EPOCH FROM (ready_at - now())) * 1000)::float8 AS delay_ms
       FROM tasks WHERE state = 'queued' AND updated_at < now() - $1 * interval '1 millisecond'
       ORDER BY updated_at LIMIT $2`,
      [minAgeMs, limit],
    );
    return result.rows.map((r) => ({
      id: r.id,
      type: r.type,
      priority: r.priority,
      delayMs: Math.round(r.delay_ms),
    }));
  }
}
