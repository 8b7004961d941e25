import type { Queryable } from "./pg-pool.ts";

/** The scrape-time gauges' reads of state owned elsewhere (the pipeline runs; queues: queue-stats-store.ts). */
export const stateGaugeReadsStore = {
  /** Unfinished pipeline runs (running, paused, snoozed) by template and state. */
  async activeRuns(q: Queryable): Promise<Array<{ template: string; state: string; count: number }>> {
    const r = await q.query<{ template: string; state: string; n: number }>(
      `SELECT template, state, count(*)::int AS n FROM pipeline_runs
       WHERE state IN ('running', 'paused', 'snoozed') GROUP BY template, state`,
    );
    return r.rows.map((row) => ({ template: row.template, state: row.state, count: row.n }));
  },
};
