import type { Static } from "typebox";
import type { TaskListReply, TaskSummary, TaskViewState } from "../../contract/schemas/tasks.ts";
import { decodeTimeKey, encodeTimeKey } from "./page-cursor.ts";
import type { Queryable } from "./pg-pool.ts";
import { type AttemptView, type EnqueueOrder, iso, type TaskView } from "./task-rows.ts";

/**
 * Whether a queued task is in the rescue lane (docs/architecture.md "Dispatch order"): its latest
 * attempt's lease was revoked (lost, timed out, released). For re-creating a missing dispatch entry.
 */
const RESCUED = `EXISTS (SELECT 1 FROM task_attempts a WHERE a.task_id = tasks.id AND a.attempt = tasks.attempts
  AND a.outcome IN ('lost', 'timed_out', 'released'))`;

/** What a queued task's enqueue order is read from (the `tasks` row in state queued). */
const QUEUED_ORDER_COLUMNS = `id, type, priority,
  GREATEST(0, EXTRACT(EPOCH FROM (ready_at - now())) * 1000)::float8 AS delay_ms, ${RESCUED} AS rescue`;

interface QueuedOrderRow {
  id: string;
  type: string;
  priority: number;
  delay_ms: number;
  rescue: boolean;
}

const toQueuedOrder = (row: QueuedOrderRow): EnqueueOrder => ({
  id: row.id,
  type: row.type,
  priority: row.priority,
  delayMs: Math.round(row.delay_ms),
  lane: row.rescue ? "rescue" : "fresh",
});

/** The operator's task list filters (GET /api/tasks); every one optional, combined with AND. */
export interface TaskListFilter {
  state?: TaskViewState;
  type?: string;
  /** Tasks this agent held a lease of, in any attempt. */
  agentId?: string;
  /** Tasks of this pipeline run's steps, every generation (their idempotency key names the run). */
  runId?: string;
  createdAfter?: Date;
  createdBefore?: Date;
  /** The previous page's nextBefore. */
  before?: string;
  limit: number;
}

/** Reads of `tasks` (with their attempts): one task, the reconciler's input, counts by type and state. */
export const taskReads = {
  /** One task with its attempts, or null. */
  async get(q: Queryable, taskId: string): Promise<TaskView | null> {
    const found = await q.query("SELECT * FROM tasks WHERE id = $1", [taskId]);
    const t = found.rows[0];
    if (!t) return null;
    const attempts = await q.query(
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
      result: t.result,
      error: t.error,
      deadReason: t.dead_reason,
    };
    return view;
  },

  /**
   * One page of the task list, newest first by (created_at, id): both never change, so a task that
   * completes, fails or is retried while someone pages keeps its place, and the keyset neither skips
   * nor repeats it. The filters apply before the limit; `total` counts all they match.
   */
  async list(q: Queryable, f: TaskListFilter): Promise<Static<typeof TaskListReply>> {
    const args: unknown[] = [];
    const arg = (v: unknown) => {
      args.push(v);
      return `$${args.length}`;
    };
    const where: string[] = [];
    if (f.state) where.push(`t.state = ${arg(f.state)}`);
    if (f.type) where.push(`t.type = ${arg(f.type)}`);
    if (f.agentId) {
      where.push(
        `EXISTS (SELECT 1 FROM task_attempts a WHERE a.task_id = t.id AND a.agent_id = ${arg(f.agentId)})`,
      );
    }
    if (f.runId) {
      const run = arg(f.runId);
      where.push(
        `t.idempotency_key LIKE 'pipeline:' || ${run} || ':%' AND t.payload->'pipeline'->>'runId' = ${run}`,
      );
    }
    if (f.createdAfter) where.push(`t.created_at >= ${arg(f.createdAfter)}`);
    if (f.createdBefore) where.push(`t.created_at < ${arg(f.createdBefore)}`);
    const filtered = where.length > 0 ? where.join(" AND ") : "true";
    const countArgs = [...args];
    let keyset = "true";
    if (f.before) {
      const key = decodeTimeKey(f.before);
      keyset = `(t.created_at, t.id) < (${arg(key.at)}::timestamptz, ${arg(key.id)}::uuid)`;
    }
    const limit = arg(f.limit + 1);
    const [page, counted] = await Promise.all([
      q.query<{
        id: string;
        type: string;
        state: TaskViewState;
        priority: number;
        attempts: number;
        failures: number;
        lease_agent_id: string | null;
        created_at: Date;
        at_key: string;
        updated_at: Date;
        finished_at: Date | null;
      }>(
        `SELECT t.id, t.type, t.state, t.priority, t.attempts, t.failures, t.lease_agent_id, t.created_at,
           t.created_at::text AS at_key, t.updated_at, t.finished_at
         FROM tasks t WHERE ${filtered} AND ${keyset}
         ORDER BY t.created_at DESC, t.id DESC LIMIT ${limit}`,
        args,
      ),
      q.query<{ n: string }>(`SELECT count(*) AS n FROM tasks t WHERE ${filtered}`, countArgs),
    ]);
    const rows = page.rows.slice(0, f.limit);
    const last = rows[rows.length - 1];
    return {
      tasks: rows.map(
        (t): Static<typeof TaskSummary> => ({
          id: t.id,
          type: t.type,
          state: t.state,
          priority: t.priority,
          attempts: t.attempts,
          failures: t.failures,
          leaseAgentId: t.lease_agent_id,
          createdAt: iso(t.created_at) ?? "",
          updatedAt: iso(t.updated_at) ?? "",
          finishedAt: iso(t.finished_at),
        }),
      ),
      total: Number(counted.rows[0]?.n ?? 0),
      nextBefore: page.rows.length > f.limit && last ? encodeTimeKey({ at: last.at_key, id: last.id }) : null,
    };
  },

  /** The enqueue orders of those of `taskIds` that are queued now (the others are in another state). */
  async queuedOrders(q: Queryable, taskIds: readonly string[]): Promise<EnqueueOrder[]> {
    const found = await q.query<QueuedOrderRow>(
      `SELECT ${QUEUED_ORDER_COLUMNS} FROM tasks WHERE id = ANY($1::uuid[]) AND state = 'queued'`,
      [taskIds],
    );
    return found.rows.map(toQueuedOrder);
  },

  /** Queued tasks that have waited at least `minAgeMs` since they became claimable (reconciler input). */
  async queuedOlderThan(q: Queryable, minAgeMs: number, limit: number): Promise<EnqueueOrder[]> {
    const result = await q.query<QueuedOrderRow>(
      `SELECT ${QUEUED_ORDER_COLUMNS}
       FROM tasks WHERE state = 'queued' AND updated_at < now() - $1 * interval '1 millisecond'
       ORDER BY updated_at LIMIT $2`,
      [minAgeMs, limit],
    );
    return result.rows.map(toQueuedOrder);
  },

  /** Every task counted by type and state. */
  async countsByTypeAndState(q: Queryable): Promise<Array<{ type: string; state: string; count: number }>> {
    const r = await q.query<{ type: string; state: string; n: string }>(
      "SELECT type, state, count(*) AS n FROM tasks GROUP BY type, state ORDER BY type, state",
    );
    return r.rows.map((x) => ({ type: x.type, state: x.state, count: Number(x.n) }));
  },

  /** Queued tasks by type: ready now, and still waiting out a retry delay. */
  async queuedByType(q: Queryable): Promise<Array<{ type: string; ready: number; delayed: number }>> {
    const r = await q.query<{ type: string; ready: string; delayed: string }>(
      `SELECT type, count(*) FILTER (WHERE ready_at <= now()) AS ready, count(*) FILTER (WHERE ready_at > now()) AS delayed
       FROM tasks WHERE state = 'queued' GROUP BY type ORDER BY type`,
    );
    return r.rows.map((x) => ({ type: x.type, ready: Number(x.ready), delayed: Number(x.delayed) }));
  },

  /** Queued and active tasks and live agents, in one statement (an override's dry run). */
  async liveCounts(q: Queryable): Promise<{ queued: number; active: number; liveAgents: number }> {
    const r = await q.query<{ queued: number; active: number; live: number }>(
      `SELECT (SELECT count(*)::int FROM tasks WHERE state = 'queued') AS queued,
              (SELECT count(*)::int FROM tasks WHERE state = 'active') AS active,
              (SELECT count(*)::int FROM agents WHERE state IN ('active', 'stale', 'draining')) AS live`,
    );
    const row = r.rows[0] as { queued: number; active: number; live: number };
    return { queued: row.queued, active: row.active, liveAgents: row.live };
  },
};
