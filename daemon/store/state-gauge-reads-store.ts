import type { Queryable } from "./pg-pool.ts";

/** Live agents' states (the agents' own store writes them). */
const LIVE = "state IN ('active', 'stale', 'draining')";

/** The scrape-time gauges' reads of state owned elsewhere (the pipeline runs; queues: queue-stats-store.ts). */
export const stateGaugeReadsStore = {
  /**
   * Live agents as the heartbeat-age gauges need them, newest state change first (the order the
   * capped per-agent series keep): three narrow columns, the heartbeat as epoch milliseconds, since
   * at 10,000 agents parsing whole rows (three timestamps each) was most of a scrape.
   */
  async liveAgents(q: Queryable): Promise<Array<{ id: string; role: string; lastHeartbeatMs: number }>> {
    const r = await q.query<{ id: string; role: string; hb: number }>({
      name: "gauges-live-agents",
      text: `SELECT id, role, (EXTRACT(EPOCH FROM last_heartbeat_at) * 1000)::float8 AS hb FROM agents
       WHERE ${LIVE} ORDER BY state_changed_at DESC LIMIT 100000`,
    });
    return r.rows.map((row) => ({ id: row.id, role: row.role, lastHeartbeatMs: row.hb }));
  },

  /** The task types any live agent can take. */
  async liveCapabilities(q: Queryable): Promise<string[]> {
    const r = await q.query<{ type: string }>(
      `SELECT DISTINCT c AS type FROM agents, unnest(capabilities) AS c WHERE ${LIVE}`,
    );
    return r.rows.map((row) => row.type);
  },

  /** Unfinished pipeline runs (running, paused, snoozed) by template and state. */
  async activeRuns(q: Queryable): Promise<Array<{ template: string; state: string; count: number }>> {
    const r = await q.query<{ template: string; state: string; n: number }>(
      `SELECT template, state, count(*)::int AS n FROM pipeline_runs
       WHERE state IN ('running', 'paused', 'snoozed') GROUP BY template, state`,
    );
    return r.rows.map((row) => ({ template: row.template, state: row.state, count: row.n }));
  },

  /** Every stored template's name and step ids (any version): the label values runs and steps can take. */
  async templateSteps(q: Queryable): Promise<Array<{ template: string; step: string | null }>> {
    const r = await q.query<{ template: string; step: string | null }>(
      `SELECT DISTINCT t.name AS template, s.value->>'id' AS step FROM pipeline_templates t
       LEFT JOIN LATERAL jsonb_array_elements(
         CASE WHEN jsonb_typeof(t.definition->'steps') = 'array' THEN t.definition->'steps' ELSE '[]'::jsonb END
       ) s ON true`,
    );
    return r.rows;
  },

  /**
   * Per role, the agents that died (went silent without deregistering) after the role's latest
   * registration and latest clean deregistration: the role's most recent agents crashed and none
   * came back. 0 for a role whose agents all left cleanly, or that has a newer agent.
   */
  async lostAgentsByRole(q: Queryable): Promise<Array<{ role: string; count: number }>> {
    const r = await q.query<{ role: string; n: number }>(
      `WITH calm AS (
         SELECT role, max(CASE WHEN state = 'left' THEN state_changed_at ELSE registered_at END) AS at
         FROM agents GROUP BY role)
       SELECT a.role, count(*) FILTER (WHERE a.state = 'dead' AND a.state_changed_at > c.at)::int AS n
       FROM agents a JOIN calm c ON c.role = a.role GROUP BY a.role`,
    );
    return r.rows.map((row) => ({ role: row.role, count: row.n }));
  },
};
