import type { FenceStore, TermActions } from "../leader/leader-election.ts";
import { type Db, withTransaction } from "./pg-pool.ts";

/**
 * `leader_fence` and `leader_terms` (migration 1733184000000, docs/scaling.md): their one writer.
 * The check every leader-only transaction makes against the fence is in leader-fence-check.ts.
 */
export class LeaderFenceStore implements FenceStore {
  constructor(private readonly db: Db) {}

  /** The epoch the fence names now (0 before any leader): the floor for the next Redis epoch. */
  async floor(): Promise<number> {
    const r = await this.db.query<{ epoch: string }>("SELECT epoch FROM leader_fence WHERE id = 1");
    return Number(r.rows[0]?.epoch ?? 0);
  }

  /**
   * Moves the fence to `epoch` for `replicaId` and opens the term's row. The row lock waits for every
   * older leader transaction still holding the fence (bounded by `lockTimeoutMs`; the caller retries),
   * so whatever they wrote committed before this term began. False when the fence already names a
   * newer epoch (this replica's lease is stale) or this epoch for another replica.
   */
  async install(epoch: number, replicaId: string, lockTimeoutMs: number): Promise<boolean> {
    return withTransaction(this.db, async (c) => {
      await c.query("SELECT set_config('lock_timeout', $1, true)", [String(Math.max(1, lockTimeoutMs))]);
      const moved = await c.query(
        `INSERT INTO leader_fence (id, epoch, replica_id, installed_at) VALUES (1, $1, $2, clock_timestamp())
         ON CONFLICT (id) DO UPDATE
           SET epoch = EXCLUDED.epoch, replica_id = EXCLUDED.replica_id, installed_at = clock_timestamp()
           WHERE leader_fence.epoch < EXCLUDED.epoch`,
        [epoch, replicaId],
      );
      if (moved.rowCount !== 1) {
        const now = await c.query<{ epoch: string; replica_id: string }>(
          "SELECT epoch, replica_id FROM leader_fence WHERE id = 1",
        );
        const row = now.rows[0];
        if (!row || Number(row.epoch) !== epoch || row.replica_id !== replicaId) return false;
      }
      // clock_timestamp() after the lock: later than every commit of the terms before.
      await c.query(
        `INSERT INTO leader_terms (epoch, replica_id, acquired_at) VALUES ($1, $2, clock_timestamp())
         ON CONFLICT (epoch) DO NOTHING`,
        [epoch, replicaId],
      );
      return true;
    });
  }

  /**
   * Adds a term's fenced transactions to its row (bookkeeping, not a leader action: never fenced).
   * The times are Postgres's clock at each check, taken under the fence's lock.
   */
  async recordActions(stats: TermActions): Promise<void> {
    await this.db.query(
      `UPDATE leader_terms
          SET actions = actions + $3,
              first_action_at = LEAST(COALESCE(first_action_at, $4), $4),
              last_action_at = GREATEST(COALESCE(last_action_at, $5), $5)
        WHERE epoch = $1 AND replica_id = $2`,
      [stats.epoch, stats.replicaId, stats.actions, stats.firstAt, stats.lastAt],
    );
  }
}
