import type { Db } from "./pg-pool.ts";

/**
 * What auto-heal observes (recovery/heal/heal-observer.ts): bounded reads of tasks, task_attempts,
 * agents, agent_transitions and the audit log. Reads only; heal's actions write through the
 * tables' owners.
 */
export class HealObservationsStore {
  constructor(private readonly db: Db) {}

  /** Agents that are dead, left or unknown but still hold an active task's lease. */
  async orphanedLeaseHolders(): Promise<string[]> {
    const r = await this.db.query<{ id: string }>(
      `SELECT DISTINCT t.lease_agent_id AS id FROM tasks t
       LEFT JOIN agents a ON a.id = t.lease_agent_id
       WHERE t.state = 'active' AND (a.id IS NULL OR a.state IN ('dead', 'left')) LIMIT 500`,
    );
    return r.rows.map((row) => row.id);
  }

  /**
   * Tasks dead-lettered in the last 24 hours, oldest first: the failure category of their last
   * attempt, how long they have been dead, and how often auto-heal already retried each.
   */
  async recentDeadTasks(): Promise<
    Array<{ taskId: string; type: string; category: string; deadForMs: number; healRetries: number }>
  > {
    const r = await this.db.query<{
      id: string;
      type: string;
      category: string;
      dead_for_ms: number;
      heal_retries: number;
    }>(
      `SELECT t.id, t.type,
              COALESCE(la.error->>'category', t.error->>'category', 'unknown') AS category,
              (extract(epoch FROM now() - COALESCE(t.finished_at, t.updated_at)) * 1000)::float8 AS dead_for_ms,
              (SELECT count(*)::int FROM audit_log l
                WHERE l.target_kind = 'task' AND l.target_id = t.id::text
                  AND l.action = 'heal.retry_dead_task') AS heal_retries
       FROM tasks t
       LEFT JOIN LATERAL (SELECT error FROM task_attempts WHERE task_id = t.id
                          ORDER BY attempt DESC LIMIT 1) la ON true
       WHERE t.state = 'dead' AND COALESCE(t.finished_at, t.updated_at) > now() - interval '24 hours'
       ORDER BY COALESCE(t.finished_at, t.updated_at) LIMIT 200`,
    );
    return r.rows.map((row) => ({
      taskId: row.id,
      type: row.type,
      category: row.category,
      deadForMs: row.dead_for_ms,
      healRetries: row.heal_retries,
    }));
  }

  /** Per agent name: how often its registrations died within `windowMs`, and its live registrations. */
  async deathsByName(
    windowMs: number,
  ): Promise<Array<{ name: string; deaths: number; liveAgentIds: string[] }>> {
    const r = await this.db.query<{ name: string; deaths: number; live: string[] }>(
      `SELECT a.name, count(*)::int AS deaths,
              COALESCE((SELECT array_agg(l.id::text) FROM agents l
                        WHERE l.name = a.name AND l.state IN ('active', 'stale')), '{}') AS live
       FROM agent_transitions tr JOIN agents a ON a.id = tr.agent_id
       WHERE tr.to_state = 'dead' AND tr.at > now() - $1 * interval '1 millisecond'
       GROUP BY a.name ORDER BY deaths DESC LIMIT 100`,
      [windowMs],
    );
    return r.rows.map((row) => ({ name: row.name, deaths: row.deaths, liveAgentIds: row.live }));
  }

  /** Per task type: attempts that ended within `windowMs`, and how many of them failed, timed out or were lost. */
  async attemptsByType(windowMs: number): Promise<Array<{ type: string; attempts: number; failed: number }>> {
    const r = await this.db.query<{ type: string; attempts: number; failed: number }>(
      `SELECT t.type, count(*)::int AS attempts,
              (count(*) FILTER (WHERE ta.outcome IN ('failed', 'timed_out', 'lost')))::int AS failed
       FROM task_attempts ta JOIN tasks t ON t.id = ta.task_id
       WHERE ta.finished_at > now() - $1 * interval '1 millisecond'
       GROUP BY t.type LIMIT 500`,
      [windowMs],
    );
    return r.rows;
  }

  /** Live (active or stale) agents with their attempts ended within `windowMs` and how many failed or timed out. */
  async liveAgentAttempts(
    windowMs: number,
  ): Promise<Array<{ agentId: string; name: string; state: string; attempts: number; failed: number }>> {
    const r = await this.db.query<{
      id: string;
      name: string;
      state: string;
      attempts: number;
      failed: number;
    }>(
      `SELECT a.id, a.name, a.state, count(ta.task_id)::int AS attempts,
              (count(ta.task_id) FILTER (WHERE ta.outcome IN ('failed', 'timed_out')))::int AS failed
       FROM agents a
       LEFT JOIN task_attempts ta ON ta.agent_id = a.id AND ta.finished_at > now() - $1 * interval '1 millisecond'
       WHERE a.state IN ('active', 'stale')
       GROUP BY a.id ORDER BY a.registered_at LIMIT 1000`,
      [windowMs],
    );
    return r.rows.map((row) => ({
      agentId: row.id,
      name: row.name,
      state: row.state,
      attempts: row.attempts,
      failed: row.failed,
    }));
  }

  /**
   * Heal actions the audit log recorded within `windowMs` as executed or failed (an attempt is an
   * attempt), counted by audit action (`heal.<kind>`) and subject (what restart limits count
   * against, else the target).
   */
  async healActionCounts(
    windowMs: number,
  ): Promise<Array<{ action: string; subject: string; count: number }>> {
    const r = await this.db.query<{ action: string; subject: string; n: number }>(
      `SELECT action, COALESCE(data->>'subject', target_id) AS subject, count(*)::int AS n
       FROM audit_log
       WHERE action LIKE 'heal.%' AND at > now() - $1 * interval '1 millisecond'
         AND data->>'outcome' IN ('executed', 'failed')
       GROUP BY 1, 2`,
      [windowMs],
    );
    return r.rows.map((row) => ({ action: row.action, subject: row.subject, count: row.n }));
  }
}
