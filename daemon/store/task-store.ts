import type { TaskState } from "../tasks/task-state.ts";
import { leaseReads } from "./lease-reads-store.ts";
import { type Db, type Queryable, type Tx, withTransaction } from "./pg-pool.ts";
import type { PurgeBatch } from "./purge-batch.ts";
import {
  type AttemptError,
  endAttemptByLease,
  endLeasesOfAgent,
  expireOverdueLeases,
  leaseProblem,
  type RetryPolicy,
} from "./task-attempt-store.ts";
import {
  archiveQueued,
  cancelTask,
  type LockedForOperator,
  lockForOperator,
  lockTasksInOrder,
  purgeFinishedTasks,
  releaseForReassign,
  reprioritizeQueued,
  requeueForRetry,
  restoreArchived,
} from "./task-operator-store.ts";
import { type TaskListFilter, taskReads } from "./task-reads-store.ts";
import type {
  AttemptEnd,
  CancelledTask,
  CompletedTask,
  EnqueueOrder,
  Lease,
  NewTask,
  TaskView,
} from "./task-rows.ts";

/** A pool or a transaction's client (pg-pool.ts names it; kept here for the stores that import it from here). */
export type { Queryable } from "./pg-pool.ts";
export type { RetryPolicy } from "./task-attempt-store.ts";

/** A submitted task as stored: new, or the one that already held its idempotency key. */
export interface InsertedTask {
  id: string;
  created: boolean;
  state: TaskState;
}
export type { LockedForOperator } from "./task-operator-store.ts";
// The shapes stay importable from here, where their callers (pipelines, probes) have always found them.
export type { AttemptEnd, CancelledTask, CompletedTask } from "./task-rows.ts";

/**
 * The one writer of `tasks`, `task_attempts` and `task_archive`: every lease check is a conditional
 * write here. The claim path's writes are in this file; ending attempts (task-attempt-store.ts) and
 * the operators', pipelines' and overrides' writes (task-operator-store.ts) are in files of their own
 * that only this class calls. Reads are in task-reads-store.ts and lease-reads-store.ts.
 */
export class TaskStore {
  constructor(
    private readonly db: Db,
    private readonly retry: RetryPolicy,
  ) {}

  /**
   * Inserts a task, or returns the existing one for a repeated idempotency key. Committed on return,
   * unless `q` is a transaction's client (a pipeline step's task commits with the step).
   */
  async insert(task: NewTask, q: Queryable = this.db): Promise<InsertedTask> {
    return (await this.insertMany([task], q))[0] as InsertedTask;
  }

  /**
   * Inserts many tasks in one statement (all or none), answering for each, in order, the task that
   * holds its idempotency key: itself when inserted, else the earlier one (in the table or earlier in
   * the batch), whose current state is read after the insert.
   */
  async insertMany(tasks: NewTask[], q: Queryable = this.db): Promise<InsertedTask[]> {
    const inserted = await q.query<{ id: string }>({
      // Named (prepared per connection): every submit goes through here, one row or a thousand.
      name: "task-insert-many",
      text: `INSERT INTO tasks (id, type, payload, priority, max_attempts, timeout_ms, idempotency_key, trace_parent, state)
       SELECT id, type, payload, priority, max_attempts, timeout_ms, idempotency_key, trace_parent, 'queued'
       FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::int[], $5::int[], $6::int[], $7::text[], $8::text[])
         WITH ORDINALITY AS t(id, type, payload, priority, max_attempts, timeout_ms, idempotency_key, trace_parent, n)
       ORDER BY n
       ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`,
      values: [
        tasks.map((t) => t.id),
        tasks.map((t) => t.type),
        tasks.map((t) => JSON.stringify(t.payload ?? null)),
        tasks.map((t) => t.priority),
        tasks.map((t) => t.maxAttempts),
        tasks.map((t) => t.timeoutMs),
        tasks.map((t) => t.idempotencyKey),
        tasks.map((t) => t.traceParent ?? null),
      ],
    });
    const created = new Set(inserted.rows.map((r) => r.id));
    const keys = tasks.filter((t) => !created.has(t.id)).map((t) => t.idempotencyKey);
    const holders = new Map<string, { id: string; state: TaskState }>();
    if (keys.length > 0) {
      const existing = await q.query<{ id: string; state: TaskState; idempotency_key: string }>(
        "SELECT id, state, idempotency_key FROM tasks WHERE idempotency_key = ANY($1::text[])",
        [keys],
      );
      for (const r of existing.rows) holders.set(r.idempotency_key, { id: r.id, state: r.state });
    }
    return tasks.map((t) => {
      if (created.has(t.id)) return { id: t.id, created: true, state: "queued" };
      const holder = t.idempotencyKey === null ? undefined : holders.get(t.idempotencyKey);
      if (!holder) throw new Error("idempotency conflict but no existing task");
      return { ...holder, created: false };
    });
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
    }>({
      // Named: prepared once per connection, so the claim path's hottest statement is not parsed
      // and planned again on every lease.
      name: "task-lease",
      text: `WITH t AS (
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
      values: [taskId, agentId],
    });
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
   * Completes the task if `leaseToken` is its current lease; a repeat of the same lease's completion
   * is idempotent (`repeated`); anything else throws 409 (404 for an unknown task).
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
    }>({
      // Named (prepared per connection), as the lease: one of the two statements every task costs.
      name: "task-complete",
      text: `WITH t AS (
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
      values: [taskId, leaseToken, agentId, JSON.stringify(result ?? null), traceparent],
    });
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
    throw await leaseProblem(this.db, taskId, leaseToken, agentId);
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
    if (!row) throw await leaseProblem(this.db, taskId, leaseToken, agentId);
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
    error: AttemptError | null,
    traceparent: string | null = null,
  ): Promise<AttemptEnd> {
    return withTransaction(this.db, (tx) =>
      endAttemptByLease(tx, this.retry, taskId, leaseToken, agentId, outcome, error, traceparent),
    );
  }

  /**
   * Ends every lease an agent holds (it died or left), inside the caller's transaction. `lost`
   * counts against maxAttempts and `released` does not; both put the task straight back on the queue.
   */
  async endLeasesOfAgent(
    tx: Tx,
    agentId: string,
    outcome: "lost" | "released",
    message: string,
  ): Promise<AttemptEnd[]> {
    return endLeasesOfAgent(tx, this.retry, agentId, outcome, message);
  }

  /** Releases every lease an agent holds (not counted), in a transaction of its own. */
  async releaseLeasesOfAgent(agentId: string, message: string): Promise<AttemptEnd[]> {
    return withTransaction(this.db, (tx) => endLeasesOfAgent(tx, this.retry, agentId, "released", message));
  }

  /** Ends attempts that overran their task's timeout; returns what was decided for each. */
  async expireOverdueLeases(limit = 500): Promise<AttemptEnd[]> {
    return withTransaction(this.db, (tx) => expireOverdueLeases(tx, this.retry, limit));
  }

  /**
   * Cancels a queued or active task inside the caller's transaction: an active lease is revoked (its
   * attempt ends `cancelled`, a late complete gets 409). Returns null when the task had already ended.
   * The caller removes the dispatch entry and tells the agent after commit.
   */
  async cancel(tx: Tx, taskId: string, reason: string): Promise<CancelledTask | null> {
    return cancelTask(tx, taskId, reason);
  }

  /**
   * Locks tasks in id order, the order the agent-death path uses, so a transaction that goes on to
   * change several of them cannot deadlock with it.
   */
  async lockInOrder(tx: Tx, taskIds: string[]): Promise<void> {
    await lockTasksInOrder(tx, taskIds);
  }

  /** Retention: one bounded batch of finished tasks, with their attempts and archive rows. */
  purgeFinished(tx: Tx, cutoff: Date, limit: number): Promise<PurgeBatch> {
    return purgeFinishedTasks(tx, cutoff, limit);
  }

  /** Gives the queued ones of `taskIds` a new priority inside the caller's transaction; returns them. */
  async reprioritizeQueued(
    tx: Tx,
    taskIds: string[],
    priority: number,
  ): Promise<Array<{ id: string; type: string }>> {
    return reprioritizeQueued(tx, taskIds, priority);
  }

  /** Locks one task for an operator action (retry, reassign) in the caller's transaction; null when unknown. */
  async lockForOperator(tx: Tx, taskId: string): Promise<LockedForOperator | null> {
    return lockForOperator(tx, taskId);
  }

  /** Queues a dead or failed task again now, with a fresh attempt budget and `priority`. */
  async requeueForRetry(tx: Tx, taskId: string, priority: number): Promise<void> {
    await requeueForRetry(tx, taskId, priority);
  }

  /** Ends the task's lease (if any) as `released` and makes it claimable now, for a reassignment. */
  async releaseForReassign(tx: Tx, taskId: string, leaseToken: string | null): Promise<void> {
    await releaseForReassign(tx, taskId, leaseToken);
  }

  /** Archives every queued task under a clear_task_queue override; returns what moved. */
  async archiveQueued(tx: Tx, overrideId: string): Promise<Array<{ id: string; type: string }>> {
    return archiveQueued(tx, overrideId);
  }

  /** Queues an override's archived tasks again, each once; returns their enqueue orders. */
  async restoreArchived(tx: Tx, overrideId: string): Promise<EnqueueOrder[]> {
    return restoreArchived(tx, overrideId);
  }

  /** The enqueue order for a task that is queued now, or null when it is in any other state. */
  async queuedOrder(taskId: string): Promise<EnqueueOrder | null> {
    return taskReads.queuedOrder(this.db, taskId);
  }

  /** One task with its attempts, or null. */
  async get(taskId: string): Promise<TaskView | null> {
    return taskReads.get(this.db, taskId);
  }

  /** One page of the operator's task list (GET /api/tasks), newest first. */
  list(filter: TaskListFilter) {
    return taskReads.list(this.db, filter);
  }

  /** Queued tasks that have waited at least `minAgeMs` since they became claimable (reconciler input). */
  async queuedOlderThan(minAgeMs: number, limit: number): Promise<EnqueueOrder[]> {
    return taskReads.queuedOlderThan(this.db, minAgeMs, limit);
  }

  /** Leases held by agents that are no longer live (a crash between marking an agent dead and revoking). */
  async orphanedLeaseHolders(): Promise<string[]> {
    return leaseReads.orphanedLeaseHolders(this.db);
  }

  /** Leases held by live agents for longer than `minAgeMs` (each must be in the Redis lease mirror). */
  async leasesOfLiveAgents(minAgeMs: number): Promise<Array<{ agentId: string; taskId: string }>> {
    return leaseReads.ofLiveAgents(this.db, minAgeMs);
  }
}
