import type { Db } from "../../daemon/store/pg-pool.ts";
import type { HealHistory } from "./heal-limits.ts";
import type { HealActionKind, HealObservation } from "./heal-plan.ts";

/** Reads what the planner needs from Postgres (the system of record), each read bounded. */
export class HealObserver {
  constructor(private readonly db: Db) {}

  async observe(
    windowMs: number,
  ): Promise<Omit<HealObservation, "failedManaged" | "quarantined" | "openCircuits">> {
    const q = this.db;
    const [orphans, dead, deaths, types, agents] = await Promise.all([
      q.query<{ id: string }>(
        `SELECT DISTINCT t.lease_agent_id AS id FROM tasks t
         LEFT JOIN agents a ON a.id = t.lease_agent_id
         WHERE t.state = 'active' AND (a.id IS NULL OR a.state IN ('dead', 'left')) LIMIT 500`,
      ),
      q.query<{
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
      ),
      q.query<{ name: string; deaths: number; live: string[] }>(
        `SELECT a.name, count(*)::int AS deaths,
                COALESCE((SELECT array_agg(l.id::text) FROM agents l
                          WHERE l.name = a.name AND l.state IN ('active', 'stale')), '{}') AS live
         FROM agent_transitions tr JOIN agents a ON a.id = tr.agent_id
         WHERE tr.to_state = 'dead' AND tr.at > now() - $1 * interval '1 millisecond'
         GROUP BY a.name ORDER BY deaths DESC LIMIT 100`,
        [windowMs],
      ),
      q.query<{ type: string; attempts: number; failed: number }>(
        `SELECT t.type, count(*)::int AS attempts,
                (count(*) FILTER (WHERE ta.outcome IN ('failed', 'timed_out', 'lost')))::int AS failed
         FROM task_attempts ta JOIN tasks t ON t.id = ta.task_id
         WHERE ta.finished_at > now() - $1 * interval '1 millisecond'
         GROUP BY t.type LIMIT 500`,
        [windowMs],
      ),
      q.query<{ id: string; name: string; state: string; attempts: number; failed: number }>(
        `SELECT a.id, a.name, a.state, count(ta.task_id)::int AS attempts,
                (count(ta.task_id) FILTER (WHERE ta.outcome IN ('failed', 'timed_out')))::int AS failed
         FROM agents a
         LEFT JOIN task_attempts ta ON ta.agent_id = a.id AND ta.finished_at > now() - $1 * interval '1 millisecond'
         WHERE a.state IN ('active', 'stale')
         GROUP BY a.id ORDER BY a.registered_at LIMIT 1000`,
        [windowMs],
      ),
    ]);
    return {
      orphanedLeaseHolders: orphans.rows.map((r) => r.id),
      deadTasks: dead.rows.map((r) => ({
        taskId: r.id,
        type: r.type,
        category: r.category,
        deadForMs: r.dead_for_ms,
        healRetries: r.heal_retries,
      })),
      flapping: deaths.rows.map((r) => ({ name: r.name, deaths: r.deaths, liveAgentIds: r.live })),
      typeOutcomes: types.rows,
      agents: agents.rows.map((r) => ({
        agentId: r.id,
        name: r.name,
        state: r.state,
        attempts: r.attempts,
        failed: r.failed,
      })),
    };
  }

  /** Heal actions carried out in the window (failed ones too: an attempt is an attempt), from the audit log every replica writes. */
  async history(windowMs: number): Promise<HealHistory> {
    const r = await this.db.query<{ action: string; subject: string; n: number }>(
      `SELECT action, COALESCE(data->>'subject', target_id) AS subject, count(*)::int AS n
       FROM audit_log
       WHERE action LIKE 'heal.%' AND at > now() - $1 * interval '1 millisecond'
         AND data->>'outcome' IN ('executed', 'failed')
       GROUP BY 1, 2`,
      [windowMs],
    );
    const byKind = new Map<HealActionKind, number>();
    const restartsByTarget = new Map<string, number>();
    for (const row of r.rows) {
      const kind = row.action.slice("heal.".length) as HealActionKind;
      byKind.set(kind, (byKind.get(kind) ?? 0) + row.n);
      if (kind === "restart_managed_agent" || kind === "drain_restart_agent") {
        restartsByTarget.set(row.subject, (restartsByTarget.get(row.subject) ?? 0) + row.n);
      }
    }
    return { byKind, restartsByTarget };
  }
}
