import type { OverseerError } from "../errors/overseer-error.ts";
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
import { type CompletionInput, completeMany, leaseMany } from "./task-claim-store.ts";
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
   * Grants leases on those of `taskIds` that are still queued to a live agent, each with a fresh
   * fencing token and its attempt row, in one statement (task-claim-store.ts). Answers in the order
   * given; tasks no longer queued (claimed elsewhere, finished, a stale queue entry) are left out, and
   * every task when the agent is no longer live.
   */
  async leaseMany(taskIds: readonly string[], agentId: string): Promise<Lease[]> {
    return leaseMany(this.db, taskIds, agentId);
  }

  /**
   * Completes each task whose lease is current, in one statement. A repeat of the same lease's
   * completion is idempotent (`repeated`); anything else answers that input's 409 (404 for an
   * unknown task) as an error in its place, so one caller's stale lease fails that caller only.
   */
  async completeMany(inputs: readonly CompletionInput[]): Promise<Array<CompletedTask | OverseerError>> {
    const committed = await completeMany(this.db, inputs);
    return Promise.all(
      committed.map((done, i) =>
        done ? { ...done, repeated: false } : this.uncommitted(inputs[i] as CompletionInput),
      ),
    );
  }

  /** A completion whose lease was not current: a retry of one that landed, or a conflict. */
  private async uncommitted(input: CompletionInput): Promise<CompletedTask | OverseerError> {
    const { taskId, leaseToken, agentId } = input;
    // A retried completion whose first try landed (its answer was lost) is answered as a success,
    // without completing anything again.
    const earlier = await this.db.query<{ type: string; attempt: number }>(
      `SELECT t.type, a.attempt FROM task_attempts a JOIN tasks t ON t.id = a.task_id
       WHERE a.task_id = $1 AND a.lease_token = $2 AND a.agent_id = $3 AND a.outcome = 'completed'`,
      [taskId, leaseToken, agentId],
    );
    const done = earlier.rows[0];
    if (done) return { type: done.type, attempt: done.attempt, durationMs: 0, repeated: true };
    return leaseProblem(this.db, taskId, leaseToken, agentId);
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

  /** The enqueue orders of those of `taskIds` that are queued now (the others are in another state). */
  async queuedOrders(taskIds: readonly string[]): Promise<EnqueueOrder[]> {
    return taskReads.queuedOrders(this.db, taskIds);
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
