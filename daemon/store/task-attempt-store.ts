import { OverseerError } from "../errors/overseer-error.ts";
import { type AttemptOutcome, decideAfterAttempt, type TaskState } from "../tasks/task-state.ts";
import type { Queryable, Tx } from "./pg-pool.ts";
import type { AttemptEnd } from "./task-rows.ts";

// Ending an attempt without completion (failure, release, timeout, a dead or departed agent): the
// attempt row ends and the task is decided (retry, requeue, dead letter, permanent failure) in the
// caller's transaction. Part of TaskStore, the one writer of `tasks` and `task_attempts`, which
// calls these; nothing else does.

export interface RetryPolicy {
  delayMs: (failuresSoFar: number) => number;
}

/** What the agent (or the daemon, for timeouts and lost agents) says went wrong. */
export interface AttemptError {
  message: string;
  category: string;
  retryable: boolean;
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

/** Ends the attempt held by `leaseToken` (agent-reported failure or release); 404/409 otherwise. */
export async function endAttemptByLease(
  tx: Tx,
  retry: RetryPolicy,
  taskId: string,
  leaseToken: string,
  agentId: string,
  outcome: "failed" | "released",
  error: AttemptError | null,
  traceparent: string | null,
): Promise<AttemptEnd> {
  const locked = await tx.query<LockedTask>(
    `SELECT ${LOCKED_COLUMNS}
     FROM tasks WHERE id = $1 AND state = 'active' AND lease_token = $2 AND lease_agent_id = $3 FOR UPDATE`,
    [taskId, leaseToken, agentId],
  );
  const task = locked.rows[0];
  if (!task) throw await leaseProblem(tx, taskId, leaseToken, agentId);
  return endAttempt(tx, retry, task, outcome, error, traceparent);
}

/**
 * Ends every lease an agent holds (it died or left), in id order. `lost` counts against
 * maxAttempts and `released` does not; both put the task straight back on the queue.
 */
export async function endLeasesOfAgent(
  tx: Tx,
  retry: RetryPolicy,
  agentId: string,
  outcome: "lost" | "released",
  message: string,
): Promise<AttemptEnd[]> {
  const locked = await tx.query<LockedTask>(
    `SELECT ${LOCKED_COLUMNS}
     FROM tasks WHERE lease_agent_id = $1 AND state = 'active' ORDER BY id FOR UPDATE`,
    [agentId],
  );
  const ends: AttemptEnd[] = [];
  for (const task of locked.rows) {
    ends.push(
      await endAttempt(tx, retry, task, outcome, { message, category: "lost_heartbeat", retryable: true }),
    );
  }
  return ends;
}

/** Ends up to `limit` attempts that overran their task's timeout (others' locks are skipped). */
export async function expireOverdueLeases(tx: Tx, retry: RetryPolicy, limit: number): Promise<AttemptEnd[]> {
  const locked = await tx.query<LockedTask & { timeout_ms: number }>(
    `SELECT ${LOCKED_COLUMNS}, timeout_ms
     FROM tasks WHERE state = 'active' AND lease_expires_at < now()
     ORDER BY lease_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
    [limit],
  );
  const ends: AttemptEnd[] = [];
  for (const task of locked.rows) {
    ends.push(
      await endAttempt(tx, retry, task, "timed_out", {
        message: `timed out after ${task.timeout_ms} ms`,
        category: "timeout",
        retryable: true,
      }),
    );
  }
  return ends;
}

async function endAttempt(
  tx: Tx,
  retry: RetryPolicy,
  task: LockedTask,
  outcome: Exclude<AttemptOutcome, "completed" | "cancelled">,
  error: AttemptError | null,
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
    delayMs: retry.delayMs,
  });
  const errorJson = error ? JSON.stringify(error) : null;
  const ended = await tx.query<{ duration_ms: number; claimed_at: Date; finished_at: Date }>(
    `UPDATE task_attempts SET outcome = $3, finished_at = now(), error = $4, traceparent = $5
     WHERE task_id = $1 AND lease_token = $2
     RETURNING claimed_at, finished_at, (EXTRACT(EPOCH FROM (finished_at - claimed_at)) * 1000)::float8 AS duration_ms`,
    [task.id, task.lease_token, outcome, errorJson, traceparent],
  );
  const common = `lease_token = NULL, lease_agent_id = NULL, lease_expires_at = NULL, updated_at = now(),
    failures = $2, error = COALESCE($3, error)`;
  if (decision.kind === "retry" || decision.kind === "requeue") {
    const delayMs = decision.kind === "retry" ? decision.delayMs : 0;
    await tx.query(
      `UPDATE tasks SET state = 'queued', ${common}, ready_at = now() + $4 * interval '1 millisecond' WHERE id = $1`,
      [task.id, failuresSoFar, errorJson, delayMs],
    );
  } else {
    await tx.query(
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

/**
 * Explains why a lease check failed: an unknown task is a 404; any other token that is not this
 * agent's current lease of the task is one 409 with one message, whether the token is stale, unknown
 * or another agent's, so a caller learns nothing about leases that are not its own. Only the
 * holder of a lease that ran past its task's timeout is told so (`details.reason: "timed_out"`).
 */
export async function leaseProblem(
  q: Queryable,
  taskId: string,
  leaseToken: string,
  agentId: string,
): Promise<OverseerError> {
  const found = await q.query<{ state: TaskState; overran: boolean }>(
    `SELECT state, (state = 'active' AND lease_token = $2 AND lease_agent_id = $3 AND lease_expires_at <= now())
       AS overran
     FROM tasks WHERE id = $1`,
    [taskId, leaseToken, agentId],
  );
  const row = found.rows[0];
  if (!row) return new OverseerError("OVS_ERR_TASK_NOT_FOUND", `no task ${taskId}`);
  return new OverseerError(
    "OVS_ERR_LEASE_CONFLICT",
    `lease ${leaseToken} is not a current lease of this agent on task ${taskId}`,
    row.overran ? { state: row.state, reason: "timed_out" } : { state: row.state },
  );
}
