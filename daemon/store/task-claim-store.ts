import type { Queryable } from "./pg-pool.ts";
import type { Lease } from "./task-rows.ts";

// The claim path's two writes, each for many tasks in one statement: granting leases and completing
// them. Part of TaskStore, the one writer of `tasks` and `task_attempts`, which calls these; nothing
// else does. One statement for N tasks is the lever: per task, a statement's round trip, parse and
// commit cost more than the rows it writes (docs/performance.md, "The core path").

/** One completion report, as the agent sent it. */
export interface CompletionInput {
  taskId: string;
  leaseToken: string;
  agentId: string;
  result: unknown;
  traceparent: string | null;
}

/** A completion this statement committed (the lease was current). */
export interface CommittedCompletion {
  type: string;
  attempt: number;
  durationMs: number;
  claimedAt: Date;
  finishedAt: Date;
  createdAt: Date;
  traceParent: string | null;
}

/**
 * Grants leases on those of `taskIds` that are still queued, to a live agent, each with a fresh
 * fencing token and its attempt row, in one statement. Answers in the order of `taskIds`; a task no
 * longer queued (claimed elsewhere, finished, a stale dispatch copy) is left out, and so is every
 * task when the agent is no longer live.
 */
export async function leaseMany(q: Queryable, taskIds: readonly string[], agentId: string): Promise<Lease[]> {
  if (taskIds.length === 0) return [];
  const result = await q.query<{
    id: string;
    type: string;
    payload: unknown;
    attempts: number;
    lease_token: string;
    timeout_ms: number;
    wait_ms: number;
    trace_parent: string | null;
  }>({
    // Named: prepared once per connection. The rows are locked in id order (the CTE's ORDER BY …
    // FOR UPDATE), as every other multi-row writer of tasks locks them, so two never deadlock.
    name: "task-lease-many",
    text: `WITH c AS (
         SELECT id FROM tasks
         WHERE id = ANY($1::uuid[]) AND state = 'queued'
           AND EXISTS (SELECT 1 FROM agents WHERE id = $2 AND state IN ('active', 'stale'))
         ORDER BY id FOR UPDATE
       ), t AS (
         UPDATE tasks SET state = 'active', attempts = attempts + 1, lease_token = nextval('lease_token_seq'),
           lease_agent_id = $2, claimed_at = now(), lease_expires_at = now() + timeout_ms * interval '1 millisecond',
           progress_percent = NULL, progress_message = NULL, updated_at = now()
         FROM c WHERE tasks.id = c.id AND tasks.state = 'queued'
         RETURNING tasks.id, type, payload, attempts, lease_token, timeout_ms, claimed_at, trace_parent,
           GREATEST(0, EXTRACT(EPOCH FROM (claimed_at - ready_at)) * 1000)::float8 AS wait_ms
       ), a AS (
         INSERT INTO task_attempts (task_id, attempt, agent_id, lease_token, claimed_at)
         SELECT id, attempts, $2, lease_token, claimed_at FROM t
       )
       SELECT id, type, payload, attempts, lease_token, timeout_ms, wait_ms, trace_parent FROM t`,
    values: [taskIds, agentId],
  });
  const byId = new Map(result.rows.map((row) => [row.id, row]));
  const leases: Lease[] = [];
  for (const id of taskIds) {
    const row = byId.get(id);
    if (!row) continue;
    leases.push({
      id: row.id,
      type: row.type,
      payload: row.payload,
      attempt: row.attempts,
      leaseToken: String(row.lease_token),
      timeoutMs: row.timeout_ms,
      queueWaitMs: Math.round(row.wait_ms),
      traceParent: row.trace_parent,
    });
  }
  return leases;
}

/**
 * Completes, in one statement, each task whose `leaseToken` is still its current, unexpired lease
 * held by that agent. Answers per input, in order: the committed completion, or null where the lease
 * was not current (the caller tells a repeated completion from a conflict). A task named twice in
 * one call completes once; its second entry answers null.
 */
export async function completeMany(
  q: Queryable,
  inputs: readonly CompletionInput[],
): Promise<Array<CommittedCompletion | null>> {
  if (inputs.length === 0) return [];
  const result = await q.query<{
    n: string;
    type: string;
    attempts: number;
    duration_ms: number;
    claimed_at: Date;
    finished_at: Date;
    created_at: Date;
    trace_parent: string | null;
  }>({
    // Named (prepared per connection), as the lease: one of the two statements every task costs.
    // Rows are locked in id order (see leaseMany).
    name: "task-complete-many",
    text: `WITH i AS (
         SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::jsonb[], $5::text[])
           WITH ORDINALITY AS i(id, token, agent_id, result, traceparent, n)
       ), first AS (
         SELECT DISTINCT ON (id) * FROM i ORDER BY id, n
       ), c AS (
         SELECT tasks.id, first.n, first.token, first.result, first.traceparent FROM tasks JOIN first ON tasks.id = first.id
         WHERE tasks.state = 'active' AND tasks.lease_token = first.token AND tasks.lease_agent_id = first.agent_id
           AND tasks.lease_expires_at > now()
         ORDER BY tasks.id FOR UPDATE OF tasks
       ), t AS (
         UPDATE tasks SET state = 'completed', result = c.result, finished_at = now(), updated_at = now(),
           lease_token = NULL, lease_agent_id = NULL, lease_expires_at = NULL, progress_percent = 100
         FROM c WHERE tasks.id = c.id AND tasks.state = 'active' AND tasks.lease_token = c.token
         RETURNING tasks.id, c.n, c.token, c.traceparent, type, attempts, claimed_at, finished_at, created_at, trace_parent
       ), a AS (
         UPDATE task_attempts SET outcome = 'completed', finished_at = t.finished_at, traceparent = t.traceparent
         FROM t WHERE task_attempts.task_id = t.id AND task_attempts.lease_token = t.token
       )
       SELECT n, type, attempts, claimed_at, finished_at, created_at, trace_parent,
         (EXTRACT(EPOCH FROM (finished_at - claimed_at)) * 1000)::float8 AS duration_ms FROM t`,
    values: [
      inputs.map((i) => i.taskId),
      inputs.map((i) => i.leaseToken),
      inputs.map((i) => i.agentId),
      inputs.map((i) => JSON.stringify(i.result ?? null)),
      inputs.map((i) => i.traceparent),
    ],
  });
  const out: Array<CommittedCompletion | null> = inputs.map(() => null);
  for (const row of result.rows) {
    out[Number(row.n) - 1] = {
      type: row.type,
      attempt: row.attempts,
      durationMs: row.duration_ms,
      claimedAt: row.claimed_at,
      finishedAt: row.finished_at,
      createdAt: row.created_at,
      traceParent: row.trace_parent,
    };
  }
  return out;
}
