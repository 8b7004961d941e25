import type { ScheduleState } from "../../contract/schemas/schedules.ts";
import type { Queryable, Tx } from "./pg-pool.ts";
import { countsOf, type PurgeBatch, purgeOne } from "./purge-batch.ts";

export type { ScheduleState };

export interface ScheduleRow {
  id: string;
  name: string;
  template: string;
  input: Record<string, unknown>;
  cron: string | null;
  run_at: Date | null;
  timezone: string;
  state: ScheduleState;
  next_run_at: Date | null;
  last_tick_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface TickRow {
  tick_at: Date;
  run_id: string | null;
  fired_at: Date;
}

export interface NewSchedule {
  id: string;
  name: string;
  template: string;
  input: Record<string, unknown>;
  cron: string | null;
  runAt: Date | null;
  timezone: string;
  nextRunAt: Date;
}

/**
 * `schedules` and `schedule_ticks`, written only here. Callers hold the transaction; this only
 * speaks SQL.
 */
export const scheduleStore = {
  /** Inserts an active schedule; null when the name is taken. */
  async insert(q: Queryable, s: NewSchedule): Promise<ScheduleRow | null> {
    const r = await q.query<ScheduleRow>(
      `INSERT INTO schedules (id, name, template, input, cron, run_at, timezone, state, next_run_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8) ON CONFLICT (name) DO NOTHING RETURNING *`,
      [s.id, s.name, s.template, JSON.stringify(s.input), s.cron, s.runAt, s.timezone, s.nextRunAt],
    );
    return r.rows[0] ?? null;
  },

  async get(q: Queryable, id: string): Promise<ScheduleRow | null> {
    const r = await q.query<ScheduleRow>("SELECT * FROM schedules WHERE id = $1", [id]);
    return r.rows[0] ?? null;
  },

  async lock(tx: Tx, id: string): Promise<ScheduleRow | null> {
    const r = await tx.query<ScheduleRow>("SELECT * FROM schedules WHERE id = $1 FOR UPDATE", [id]);
    return r.rows[0] ?? null;
  },

  async list(q: Queryable, state?: ScheduleState): Promise<ScheduleRow[]> {
    const r = state
      ? await q.query<ScheduleRow>("SELECT * FROM schedules WHERE state = $1 ORDER BY name", [state])
      : await q.query<ScheduleRow>("SELECT * FROM schedules ORDER BY name");
    return r.rows;
  },

  async setState(tx: Tx, id: string, state: ScheduleState, nextRunAt: Date | null): Promise<ScheduleRow> {
    const r = await tx.query<ScheduleRow>(
      "UPDATE schedules SET state = $2, next_run_at = $3, updated_at = now() WHERE id = $1 RETURNING *",
      [id, state, nextRunAt],
    );
    return r.rows[0] as ScheduleRow;
  },

  async remove(tx: Tx, id: string): Promise<ScheduleRow | null> {
    const r = await tx.query<ScheduleRow>("DELETE FROM schedules WHERE id = $1 RETURNING *", [id]);
    return r.rows[0] ?? null;
  },

  /**
   * Locks the most overdue active schedule that no other replica holds, with the database clock
   * (one clock for every replica). Null when nothing is due or every due row is taken.
   */
  async lockNextDue(tx: Tx): Promise<(ScheduleRow & { db_now: Date }) | null> {
    const r = await tx.query<ScheduleRow & { db_now: Date }>(
      `SELECT *, now() AS db_now FROM schedules
       WHERE state = 'active' AND next_run_at <= now()
       ORDER BY next_run_at LIMIT 1 FOR UPDATE SKIP LOCKED`,
    );
    return r.rows[0] ?? null;
  },

  /** Claims a tick; false when it was already claimed (the primary key decides). */
  async claimTick(tx: Tx, scheduleId: string, tickAt: Date): Promise<boolean> {
    const r = await tx.query(
      `INSERT INTO schedule_ticks (schedule_id, tick_at) VALUES ($1, $2)
       ON CONFLICT DO NOTHING RETURNING tick_at`,
      [scheduleId, tickAt],
    );
    return r.rowCount === 1;
  },

  async setTickRun(tx: Tx, scheduleId: string, tickAt: Date, runId: string): Promise<void> {
    await tx.query("UPDATE schedule_ticks SET run_id = $3 WHERE schedule_id = $1 AND tick_at = $2", [
      scheduleId,
      tickAt,
      runId,
    ]);
  },

  /** After a tick: when it happened and what is next (a one-off is done, with nothing next). */
  async ticked(
    tx: Tx,
    id: string,
    tickAt: Date,
    next: { state: ScheduleState; nextRunAt: Date | null },
  ): Promise<void> {
    await tx.query(
      "UPDATE schedules SET last_tick_at = $2, state = $3, next_run_at = $4, updated_at = now() WHERE id = $1",
      [id, tickAt, next.state, next.nextRunAt],
    );
  },

  async recentTicks(q: Queryable, scheduleId: string, limit = 20): Promise<TickRow[]> {
    const r = await q.query<TickRow>(
      "SELECT tick_at, run_id, fired_at FROM schedule_ticks WHERE schedule_id = $1 ORDER BY tick_at DESC LIMIT $2",
      [scheduleId, limit],
    );
    return r.rows;
  },

  /**
   * Retention: ticks fired before the cutoff. Each schedule keeps its latest tick whatever its age:
   * the tick's primary key is what makes a tick fire once, and the latest is the one a late replica
   * could still try to claim.
   */
  purgeTicks(tx: Tx, cutoff: Date, limit: number): Promise<PurgeBatch> {
    return purgeOne(
      tx,
      "schedule_ticks",
      `WITH d AS (DELETE FROM schedule_ticks WHERE (schedule_id, tick_at) IN
        (SELECT t.schedule_id, t.tick_at FROM schedule_ticks t
         WHERE t.fired_at < $1
           AND t.tick_at < (SELECT max(m.tick_at) FROM schedule_ticks m WHERE m.schedule_id = t.schedule_id)
         ORDER BY t.fired_at LIMIT $2) RETURNING 1)
      ${countsOf({ d: "schedule_ticks" })}`,
      cutoff,
      limit,
    );
  },
};
