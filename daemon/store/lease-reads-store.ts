import type { AgentStateName } from "../events/catalogue.ts";
import type { Queryable } from "./pg-pool.ts";

/** A live agent, or one still holding a lease, with how many active leases it holds. */
export interface AgentLoad {
  id: string;
  name: string;
  role: string;
  state: AgentStateName;
  capabilities: string[];
  concurrency: number;
  lastHeartbeatAt: Date;
  leases: number;
}

interface AgentLoadRow {
  id: string;
  name: string;
  role: string;
  state: AgentStateName;
  capabilities: string[];
  concurrency: number;
  last_heartbeat_at: Date;
  /** Counted in SQL: a bigint, read as text. */
  leases: string;
}

const toLoad = (a: AgentLoadRow): AgentLoad => ({
  id: a.id,
  name: a.name,
  role: a.role,
  state: a.state,
  capabilities: a.capabilities,
  concurrency: a.concurrency,
  lastHeartbeatAt: a.last_heartbeat_at,
  leases: Number(a.leases),
});

const LOAD_COLUMNS = `a.id, a.name, a.role, a.state, a.capabilities, a.concurrency, a.last_heartbeat_at,
  (SELECT count(*) FROM tasks t WHERE t.state = 'active' AND t.lease_agent_id = a.id) AS leases`;

/** Reads of who holds which lease (`tasks` joined with `agents`): coordination, overrides, the reconciler. */
export const leaseReads = {
  /** Every agent that is live or holds a lease, with its lease count. */
  async agentLoads(q: Queryable): Promise<AgentLoad[]> {
    const r = await q.query<AgentLoadRow>(
      `SELECT ${LOAD_COLUMNS}
       FROM agents a
       WHERE a.state IN ('active', 'stale', 'draining')
          OR EXISTS (SELECT 1 FROM tasks t WHERE t.state = 'active' AND t.lease_agent_id = a.id)
       ORDER BY a.id`,
    );
    return r.rows.map(toLoad);
  },

  /** One agent (in any state) with its lease count; null when unknown. */
  async agentLoad(q: Queryable, agentId: string): Promise<AgentLoad | null> {
    const r = await q.query<AgentLoadRow>(`SELECT ${LOAD_COLUMNS} FROM agents a WHERE a.id = $1`, [agentId]);
    return r.rows[0] ? toLoad(r.rows[0]) : null;
  },

  /** The current lease token of an active task held by `agentId`, or null. */
  async tokenOf(q: Queryable, taskId: string, agentId: string): Promise<string | null> {
    const found = await q.query<{ lease_token: string | null }>(
      "SELECT lease_token FROM tasks WHERE id = $1 AND state = 'active' AND lease_agent_id = $2",
      [taskId, agentId],
    );
    return found.rows[0]?.lease_token ?? null;
  },

  /** Leases held by agents that are no longer live (a crash between marking an agent dead and revoking). */
  async orphanedLeaseHolders(q: Queryable): Promise<string[]> {
    const result = await q.query<{ lease_agent_id: string }>(
      `SELECT DISTINCT t.lease_agent_id FROM tasks t
       LEFT JOIN agents a ON a.id = t.lease_agent_id
       WHERE t.state = 'active' AND (a.id IS NULL OR a.state IN ('dead', 'left'))`,
    );
    return result.rows.map((r) => r.lease_agent_id);
  },

  /** Leases whose holder is in no agent row at all (the reconciler ends them as orphaned). */
  async countOfUnknownHolders(q: Queryable): Promise<number> {
    const r = await q.query<{ n: string }>(
      `SELECT count(*) AS n FROM tasks t LEFT JOIN agents a ON a.id = t.lease_agent_id
       WHERE t.state = 'active' AND a.id IS NULL`,
    );
    return Number(r.rows[0]?.n ?? 0);
  },

  /**
   * Leases held by live agents for longer than `minAgeMs` (reconciler input: each must be in the
   * Redis lease mirror, or a lease the agent never learned of would wait for its timeout).
   */
  async ofLiveAgents(q: Queryable, minAgeMs: number): Promise<Array<{ agentId: string; taskId: string }>> {
    const result = await q.query<{ agent_id: string; task_id: string }>(
      `SELECT t.lease_agent_id AS agent_id, t.id AS task_id FROM tasks t
       JOIN agents a ON a.id = t.lease_agent_id
       WHERE t.state = 'active' AND a.state IN ('active', 'stale', 'draining')
         AND t.claimed_at < now() - $1 * interval '1 millisecond'`,
      [minAgeMs],
    );
    return result.rows.map((r) => ({ agentId: r.agent_id, taskId: r.task_id }));
  },

  /** Active leases of agents that are live but not active (stale or draining), with their tokens. */
  async ofInactiveAgents(q: Queryable): Promise<Array<{ taskId: string; agentId: string; token: string }>> {
    const r = await q.query<{ id: string; agent_id: string; token: string }>(
      `SELECT t.id, t.lease_agent_id AS agent_id, t.lease_token AS token FROM tasks t
       JOIN agents a ON a.id = t.lease_agent_id
       WHERE t.state = 'active' AND a.state IN ('stale', 'draining') ORDER BY t.id`,
    );
    return r.rows.map((x) => ({ taskId: x.id, agentId: x.agent_id, token: String(x.token) }));
  },

  /** Every live agent with the tasks it holds and their lease tokens (restart_all_agents). */
  async liveAgentsWithLeases(
    q: Queryable,
  ): Promise<Array<{ agentId: string; taskIds: string[]; tokens: string[] }>> {
    const r = await q.query<{ agent_id: string; task_ids: string[]; tokens: string[] }>(
      `SELECT a.id AS agent_id,
              coalesce(array_agg(t.id::text) FILTER (WHERE t.id IS NOT NULL), '{}') AS task_ids,
              coalesce(array_agg(t.lease_token::text) FILTER (WHERE t.id IS NOT NULL), '{}') AS tokens
       FROM agents a LEFT JOIN tasks t ON t.lease_agent_id = a.id AND t.state = 'active'
       WHERE a.state IN ('active', 'stale', 'draining') GROUP BY a.id`,
    );
    return r.rows.map((x) => ({ agentId: x.agent_id, taskIds: x.task_ids, tokens: x.tokens }));
  },

  /** Active leases by holder (for the Redis lease-mirror comparison and rebuild). */
  async byAgent(q: Queryable): Promise<Map<string, string[]>> {
    const r = await q.query<{ agent_id: string; ids: string[] }>(
      `SELECT lease_agent_id AS agent_id, array_agg(id::text ORDER BY id) AS ids FROM tasks
       WHERE state = 'active' GROUP BY lease_agent_id`,
    );
    return new Map(r.rows.map((x) => [x.agent_id, x.ids]));
  },

  /** Active leases, how many are past their deadline, and how long the oldest of those is overdue. */
  async expired(q: Queryable): Promise<{ count: number; oldestOverdueMs: number; active: number }> {
    const r = await q.query<{ n: string; oldest: number | null; active: string }>(
      `SELECT count(*) FILTER (WHERE lease_expires_at < now()) AS n, count(*) AS active,
         (EXTRACT(EPOCH FROM now() - min(lease_expires_at) FILTER (WHERE lease_expires_at < now())) * 1000)::float8 AS oldest
       FROM tasks WHERE state = 'active'`,
    );
    const row = r.rows[0];
    return {
      count: Number(row?.n ?? 0),
      oldestOverdueMs: Math.round(row?.oldest ?? 0),
      active: Number(row?.active ?? 0),
    };
  },
};
