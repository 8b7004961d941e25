import type { TaskViewState } from "../../contract/schemas/tasks.ts";
import type { Tx } from "./pg-pool.ts";
import { countsOf, type PurgeBatch } from "./purge-batch.ts";
import type { CancelledTask, EnqueueOrder } from "./task-rows.ts";

// Writes to `tasks`, `task_attempts` and `task_archive` that operators, pipelines and overrides make
// inside their own transactions: cancel, lock, re-prioritise, retry, reassign, archive and restore.
// Part of TaskStore, the one writer of those tables, which calls these; nothing else does.

/** A task locked for an operator action (retry, reassign). */
export interface LockedForOperator {
  id: string;
  type: string;
  state: TaskViewState;
  priority: number;
  attempts: number;
  lease_token: string | null;
  lease_agent_id: string | null;
}

/**
 * Cancels a queued or active task: an active lease is revoked (its attempt ends `cancelled`, a late
 * complete gets 409). Returns null when the task had already ended.
 */
export async function cancelTask(tx: Tx, taskId: string, reason: string): Promise<CancelledTask | null> {
  // Lock and read first, in a statement of its own: under READ COMMITTED the next statement then
  // sees an attempt row that a claim committed while this one waited for the lock. An archived task
  // (clear_task_queue) can be cancelled too, so a restore does not bring it back.
  const locked = await tx.query<{
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
  const ended = await tx.query<{ finished_at: Date }>(
    `UPDATE tasks SET state = 'cancelled', lease_token = NULL, lease_agent_id = NULL, lease_expires_at = NULL,
       finished_at = now(), updated_at = now(), error = $2 WHERE id = $1 RETURNING finished_at`,
    [taskId, JSON.stringify({ message: reason, category: "cancelled", retryable: false })],
  );
  if (row.lease_token) {
    await tx.query(
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
    attempt: row.lease_token && row.claimed_at ? { attempt: row.attempts, claimedAt: row.claimed_at } : null,
  };
}

/** Locks tasks in id order (the order the agent-death path uses, so no deadlock with it). */
export async function lockTasksInOrder(tx: Tx, taskIds: string[]): Promise<void> {
  if (taskIds.length === 0) return;
  await tx.query("SELECT id FROM tasks WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE", [taskIds]);
}

/** Gives the queued ones of `taskIds` a new priority; returns them. */
export async function reprioritizeQueued(
  tx: Tx,
  taskIds: string[],
  priority: number,
): Promise<Array<{ id: string; type: string }>> {
  if (taskIds.length === 0) return [];
  const moved = await tx.query<{ id: string; type: string }>(
    `UPDATE tasks SET priority = $2, updated_at = now() WHERE state = 'queued' AND id = ANY($1::uuid[])
     RETURNING id, type`,
    [taskIds, priority],
  );
  return moved.rows;
}

/** Locks one task for an operator action; null when it does not exist. */
export async function lockForOperator(tx: Tx, taskId: string): Promise<LockedForOperator | null> {
  const r = await tx.query<LockedForOperator>(
    "SELECT id, type, state, priority, attempts, lease_token, lease_agent_id FROM tasks WHERE id = $1 FOR UPDATE",
    [taskId],
  );
  return r.rows[0] ?? null;
}

/** Puts a dead or failed task back on the queue now, with a fresh attempt budget and `priority`. */
export async function requeueForRetry(tx: Tx, taskId: string, priority: number): Promise<void> {
  await tx.query(
    `UPDATE tasks SET state = 'queued', failures = 0, ready_at = now(), updated_at = now(), finished_at = NULL,
       dead_reason = NULL, priority = $2 WHERE id = $1`,
    [taskId, priority],
  );
}

/**
 * Ends the current lease as `released` (not counted: the operator moved it) and makes the task
 * claimable now. Its lease token is cleared, so the old holder's next call gets 409.
 */
export async function releaseForReassign(tx: Tx, taskId: string, leaseToken: string | null): Promise<void> {
  if (leaseToken) {
    await tx.query(
      "UPDATE task_attempts SET outcome = 'released', finished_at = now() WHERE task_id = $1 AND lease_token = $2",
      [taskId, leaseToken],
    );
  }
  await tx.query(
    `UPDATE tasks SET state = 'queued', lease_token = NULL, lease_agent_id = NULL, lease_expires_at = NULL,
       ready_at = now(), updated_at = now(), progress_percent = NULL, progress_message = NULL WHERE id = $1`,
    [taskId],
  );
}

/**
 * Parks every queued task as `archived` and keeps its full row in `task_archive`, in one statement:
 * a claim racing it either leased the task first (then it is not archived) or finds it no longer
 * queued. Returns what moved, for removing the dispatch entries.
 */
export async function archiveQueued(
  tx: Tx,
  overrideId: string,
): Promise<Array<{ id: string; type: string }>> {
  const r = await tx.query<{ id: string; type: string }>(
    `WITH moved AS (
       UPDATE tasks SET state = 'archived', updated_at = now() WHERE state = 'queued' RETURNING *
     )
     INSERT INTO task_archive (task_id, override_id, row_data)
     SELECT id, $1, to_jsonb(moved) FROM moved
     RETURNING task_id AS id, row_data->>'type' AS type`,
    [overrideId],
  );
  return r.rows;
}

/** Puts an override's archived tasks back in the queue, each once; returns their enqueue orders. */
export async function restoreArchived(tx: Tx, overrideId: string): Promise<EnqueueOrder[]> {
  const r = await tx.query<{ id: string; type: string; priority: number; delay_ms: number }>(
    `WITH marked AS (
       UPDATE task_archive SET restored_at = now()
       WHERE override_id = $1 AND restored_at IS NULL RETURNING task_id
     ), back AS (
       UPDATE tasks t SET state = 'queued', updated_at = now()
       FROM marked m WHERE t.id = m.task_id AND t.state = 'archived'
       RETURNING t.id, t.type, t.priority, t.ready_at
     )
     SELECT id, type, priority,
            GREATEST(0, floor(extract(epoch FROM (ready_at - now())) * 1000))::int AS delay_ms
     FROM back`,
    [overrideId],
  );
  return r.rows.map((x) => ({ id: x.id, type: x.type, priority: x.priority, delayMs: x.delay_ms }));
}

/**
 * Retention: terminal tasks that finished before the cutoff, with their attempts and archive rows,
 * at most `limit`, never one a still-open pipeline run's step points at (the run's sweep reads its
 * step's task). 'archived' is not terminal: an override may restore it. Victims are picked with
 * FOR UPDATE SKIP LOCKED, so a task another transaction holds is left for the next pass.
 */
export async function purgeFinishedTasks(tx: Tx, cutoff: Date, limit: number): Promise<PurgeBatch> {
  const r = await tx.query<Record<string, number>>(
    `WITH victims AS (
      SELECT t.id FROM tasks t
      WHERE t.state IN ('completed', 'failed', 'dead', 'cancelled') AND t.finished_at < $1
        AND NOT EXISTS (
          SELECT 1 FROM pipeline_steps s JOIN pipeline_runs r ON r.id = s.run_id
          WHERE s.task_id = t.id AND r.state IN ('running', 'paused', 'snoozed'))
      ORDER BY t.finished_at LIMIT $2 FOR UPDATE OF t SKIP LOCKED),
    d_attempts AS (DELETE FROM task_attempts WHERE task_id IN (SELECT id FROM victims) RETURNING 1),
    d_archive AS (DELETE FROM task_archive WHERE task_id IN (SELECT id FROM victims) RETURNING 1),
    d_tasks AS (DELETE FROM tasks WHERE id IN (SELECT id FROM victims) RETURNING 1)
    ${countsOf({ d_tasks: "tasks", d_attempts: "task_attempts", d_archive: "task_archive" })}`,
    [cutoff, limit],
  );
  const deleted = r.rows[0] ?? {};
  return { deleted, parents: Number(deleted.tasks ?? 0) };
}
