import { CANARY_TYPE_PREFIX } from "../../contract/schemas/system.ts";
import type { Db } from "./pg-pool.ts";

/** A canary task as Postgres sees it; ages and durations on the Postgres clock. */
export interface CanaryTaskRow {
  taskId: string;
  type: string;
  state: string;
  /** Milliseconds since the task was submitted. */
  ageMs: number;
  /** Submission to finish, once the task has ended. */
  durationMs: number | null;
}

/**
 * The canary's reads (probes/canary-probe.ts): which roles to probe (agents) and where its tasks
 * (`overseer.canary.<role>`) stand. It writes nothing: canaries are submitted and cancelled
 * through the task service.
 */
export class CanaryStore {
  constructor(private readonly db: Db) {}

  /**
   * Roles with an agent that answers canaries (capability `overseer.canary.<role>`) and is live or
   * was heard from, or changed state, within `windowMs` (dead ones included on purpose), by role.
   */
  async probedRoles(windowMs: number, limit: number): Promise<string[]> {
    const { rows } = await this.db.query<{ role: string }>(
      `SELECT DISTINCT role FROM agents
        WHERE $1 || role = ANY (capabilities)
          AND (state IN ('active', 'stale', 'draining') OR last_heartbeat_at > now() - $2 * interval '1 millisecond'
               OR state_changed_at > now() - $2 * interval '1 millisecond')
        ORDER BY role LIMIT $3`,
      [CANARY_TYPE_PREFIX, windowMs, limit],
    );
    return rows.map((r) => r.role);
  }

  /** Canary tasks still queued or active, oldest first. */
  async openCanaries(limit: number): Promise<CanaryTaskRow[]> {
    const { rows } = await this.db.query<{ id: string; type: string; state: string; age_ms: number }>(
      `SELECT id, type, state, (EXTRACT(EPOCH FROM now() - created_at) * 1000)::float8 AS age_ms
         FROM tasks WHERE state IN ('queued', 'active') AND type LIKE $1
        ORDER BY created_at LIMIT $2`,
      [`${CANARY_TYPE_PREFIX}%`, limit],
    );
    return rows.map((r) => ({
      taskId: r.id,
      type: r.type,
      state: r.state,
      ageMs: Number(r.age_ms),
      durationMs: null,
    }));
  }

  /** The tasks `ids` (any type) with their state, age and duration; ids without a row are left out. */
  async tasks(ids: string[]): Promise<CanaryTaskRow[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.db.query<{
      id: string;
      type: string;
      state: string;
      age_ms: number;
      duration_ms: number | null;
    }>(
      `SELECT id, type, state, (EXTRACT(EPOCH FROM now() - created_at) * 1000)::float8 AS age_ms,
              (EXTRACT(EPOCH FROM finished_at - created_at) * 1000)::float8 AS duration_ms
         FROM tasks WHERE id = ANY ($1::uuid[])`,
      [ids],
    );
    return rows.map((r) => ({
      taskId: r.id,
      type: r.type,
      state: r.state,
      ageMs: Number(r.age_ms),
      durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
    }));
  }
}
