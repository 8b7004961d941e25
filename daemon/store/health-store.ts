import type { ActiveOverride } from "../../contract/schemas/system.ts";
import { pendingMigrations } from "./migrate.ts";
import type { Db } from "./pg-pool.ts";
import { selectOne } from "./postgres-server-store.ts";
import { type QueueStat, readQueueStats } from "./queue-stats-store.ts";

/**
 * What the health checks read from Postgres (probes/system-health.ts): reads only, of agents,
 * tasks, overrides and pgmigrations, each bounded.
 */
export class HealthStore {
  constructor(private readonly db: Db) {}

  /** Resolves once Postgres answered a trivial statement. */
  async ping(): Promise<void> {
    await selectOne(this.db);
  }

  /** Migration files not recorded in the namespace's migrations table (empty when up to date). */
  async pendingMigrations(): Promise<string[]> {
    return pendingMigrations(this.db);
  }

  /**
   * Agents by role and state: every live one (active, stale, draining), and the others heard from
   * or changed within `windowMs` (so a role whose agents all died still shows).
   */
  async agentCountsByRole(windowMs: number): Promise<Array<{ role: string; state: string; count: number }>> {
    const { rows } = await this.db.query<{ role: string; state: string; n: string }>(
      `SELECT role, state, count(*) AS n FROM agents
        WHERE state IN ('active', 'stale', 'draining')
           OR last_heartbeat_at > now() - $1 * interval '1 millisecond'
           OR state_changed_at > now() - $1 * interval '1 millisecond'
        GROUP BY role, state ORDER BY role, state LIMIT 10000`,
      [windowMs],
    );
    return rows.map((r) => ({ role: r.role, state: r.state, count: Number(r.n) }));
  }

  /** Depth and oldest age of unfinished tasks by type and state (queue-stats-store.ts). */
  queueStats(): Promise<QueueStat[]> {
    return readQueueStats(this.db);
  }

  /**
   * Overrides in force, oldest first (at most 100), or null when the `overrides` table does not
   * exist yet (before its migration ran no override can be active).
   */
  async activeOverrides(): Promise<ActiveOverride[] | null> {
    const exists = await this.db.query<{ t: string | null }>("SELECT to_regclass('overrides')::text AS t");
    if (!exists.rows[0]?.t) return null;
    const { rows } = await this.db.query<{
      id: string;
      action: ActiveOverride["action"];
      reason: string;
      actor: string;
      state: ActiveOverride["state"];
      started_at: Date;
      expires_at: Date | null;
      impact: ActiveOverride["impact"];
    }>(
      `SELECT id, action, reason, actor, state, started_at, expires_at, impact FROM overrides
        WHERE state = 'active' AND (expires_at IS NULL OR expires_at > now()) ORDER BY started_at LIMIT 100`,
    );
    return rows.map((r) => ({
      id: r.id,
      action: r.action,
      reason: r.reason,
      actor: r.actor,
      state: r.state,
      startedAt: r.started_at.toISOString(),
      expiresAt: r.expires_at === null ? null : r.expires_at.toISOString(),
      impact: r.impact,
    }));
  }
}
