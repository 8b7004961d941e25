import type { QueueStat } from "../../contract/schemas/dashboard.ts";
import type { Queryable } from "./pg-pool.ts";

/**
 * Depth and oldest age of unfinished tasks, by type and state; `queued` splits into ready and
 * delayed. Completed and cancelled tasks are finished, and archived ones are parked by an override
 * (clear_task_queue), so none of them is a queue.
 */
export type { QueueStat };

/** Reads queue depth from Postgres, the system of record (the BullMQ queues are only the dispatch copy). */
export async function readQueueStats(db: Queryable): Promise<QueueStat[]> {
  const result = await db.query<{ type: string; st: QueueStat["state"]; count: string; oldest: number }>(
    `SELECT type,
       CASE WHEN state = 'queued' AND ready_at > now() THEN 'delayed' WHEN state = 'queued' THEN 'ready' ELSE state END AS st,
       count(*) AS count,
       GREATEST(0, EXTRACT(EPOCH FROM now() - min(CASE
         WHEN state = 'queued' THEN LEAST(ready_at, now())
         WHEN state = 'active' THEN claimed_at
         ELSE finished_at END)))::float8 AS oldest
     FROM tasks WHERE state IN ('queued', 'active', 'failed', 'dead') GROUP BY 1, 2 ORDER BY 1, 2`,
  );
  return result.rows.map((r) => ({
    type: r.type,
    state: r.st,
    count: Number(r.count),
    oldestAgeSeconds: r.oldest,
  }));
}
