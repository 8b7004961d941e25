import type { AgentStateName } from "../events/catalogue.ts";
import { attemptStats } from "./attempt-stats-store.ts";
import { leaseReads } from "./lease-reads-store.ts";
import { type Db, type Tx, withTransaction } from "./pg-pool.ts";
import { countsOf, type PurgeBatch, purgeOne } from "./purge-batch.ts";
import type { AttemptEnd } from "./task-rows.ts";
import type { TaskStore } from "./task-store.ts";

export interface AgentRecord {
  id: string;
  name: string;
  role: string;
  capabilities: string[];
  concurrency: number;
  state: AgentStateName;
  registeredAt: Date;
  stateChangedAt: Date;
  lastHeartbeatAt: Date;
}

export interface TransitionResult {
  agent: AgentRecord;
  from: AgentStateName;
  /** Leases ended by this transition (to dead or left), already committed. */
  ended: AttemptEnd[];
}

const toRecord = (r: Record<string, unknown>): AgentRecord => ({
  id: r.id as string,
  name: r.name as string,
  role: r.role as string,
  capabilities: r.capabilities as string[],
  concurrency: r.concurrency as number,
  state: r.state as AgentStateName,
  registeredAt: r.registered_at as Date,
  stateChangedAt: r.state_changed_at as Date,
  lastHeartbeatAt: r.last_heartbeat_at as Date,
});

/** What a registration stores. */
export interface NewAgent {
  id: string;
  name: string;
  role: string;
  capabilities: string[];
  concurrency: number;
}

/** Postgres access for agents and their transition history. */
export class AgentStore {
  constructor(
    private readonly db: Db,
    private readonly tasks: TaskStore,
  ) {}

  /**
   * Registers agents, each with its first transition, in one statement (all or none), answering in
   * the order given. Registrations arriving together share it (AgentService's group commit).
   */
  async insertMany(agents: readonly NewAgent[]): Promise<AgentRecord[]> {
    const inserted = await this.db.query({
      // Named (prepared per connection): a fleet registers thousands at once.
      name: "agent-insert-many",
      text: `WITH i AS (
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::int[])
           WITH ORDINALITY AS i(id, name, role, capabilities, concurrency, n)
       ), a AS (
         INSERT INTO agents (id, name, role, capabilities, concurrency, state)
         SELECT id, name, role, ARRAY(SELECT jsonb_array_elements_text(capabilities)), concurrency, 'active'
         FROM i ORDER BY n
         RETURNING *
       ), t AS (
         INSERT INTO agent_transitions (agent_id, from_state, to_state, reason)
         SELECT id, NULL, 'active', 'registered' FROM a
       )
       SELECT * FROM a`,
      values: [
        agents.map((a) => a.id),
        agents.map((a) => a.name),
        agents.map((a) => a.role),
        agents.map((a) => JSON.stringify(a.capabilities)),
        agents.map((a) => a.concurrency),
      ],
    });
    const byId = new Map(inserted.rows.map((r) => [r.id as string, toRecord(r)]));
    return agents.map((a) => {
      const record = byId.get(a.id);
      if (!record) throw new Error(`agent ${a.id} was not inserted`);
      return record;
    });
  }

  async get(id: string): Promise<AgentRecord | null> {
    const found = await this.db.query("SELECT * FROM agents WHERE id = $1", [id]);
    return found.rows[0] ? toRecord(found.rows[0]) : null;
  }

  /**
   * Moves an agent to `to` only if it is in one of `from` (so concurrent sweeps and heartbeats
   * cannot both act), records the transition, and for dead/left ends its leases in the same
   * transaction. Returns null when the agent was not in an allowed state.
   */
  async transition(
    id: string,
    from: readonly AgentStateName[],
    to: AgentStateName,
    reason: string,
  ): Promise<TransitionResult | null> {
    return withTransaction(this.db, async (client) => {
      const moved = await client.query(
        `WITH old AS (SELECT id, state FROM agents WHERE id = $1 FOR UPDATE)
         UPDATE agents a SET state = $3, state_changed_at = now()
         FROM old WHERE a.id = old.id AND old.state = ANY($2::text[]) AND old.state <> $3
         RETURNING a.*, old.state AS from_state`,
        [id, from, to],
      );
      const row = moved.rows[0];
      if (!row) return null;
      await client.query(
        "INSERT INTO agent_transitions (agent_id, from_state, to_state, reason) VALUES ($1, $2, $3, $4)",
        [id, row.from_state, to, reason],
      );
      const ended = await this.endLeasesFor(client, id, to, reason);
      return { agent: toRecord(row), from: row.from_state as AgentStateName, ended };
    });
  }

  private async endLeasesFor(tx: Tx, id: string, to: AgentStateName, reason: string): Promise<AttemptEnd[]> {
    if (to === "dead") return this.tasks.endLeasesOfAgent(tx, id, "lost", `agent died: ${reason}`);
    if (to === "left") return this.tasks.endLeasesOfAgent(tx, id, "released", `agent left: ${reason}`);
    return [];
  }

  /** Ends leases still held by an agent that is already dead or left (reconciler repair). */
  async endOrphanedLeases(id: string): Promise<AttemptEnd[]> {
    return withTransaction(this.db, async (client) => {
      const found = await client.query<{ state: AgentStateName }>(
        "SELECT state FROM agents WHERE id = $1 FOR UPDATE",
        [id],
      );
      const state = found.rows[0]?.state;
      if (state === "left") return this.tasks.endLeasesOfAgent(client, id, "released", "agent had left");
      return this.tasks.endLeasesOfAgent(client, id, "lost", "agent is dead or unknown");
    });
  }

  /** Live agents (for restoring the Redis liveness mirror after Redis lost data). */
  /**
   * Up to `limit` live agents with ids after `after` (keyset order): id, state and last heartbeat
   * only. The reconciler walks 10,000 agents in pages instead of parsing every full row in one
   * go, which held the event loop for over 100 ms at that size.
   */
  async livePage(
    after: string | null,
    limit: number,
  ): Promise<Array<{ id: string; state: AgentStateName; lastHeartbeatAt: number }>> {
    const found = await this.db.query<{ id: string; state: AgentStateName; at: number }>(
      `SELECT id, state, extract(epoch FROM last_heartbeat_at)::float8 * 1000 AS at FROM agents
        WHERE state IN ('active', 'stale', 'draining') AND ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2`,
      [after, limit],
    );
    return found.rows.map((r) => ({ id: r.id, state: r.state, lastHeartbeatAt: r.at }));
  }

  /** Writes Redis heartbeat times back to Postgres in one statement (the caller pages large sets). */
  async flushHeartbeats(beats: Array<{ id: string; at: number }>): Promise<void> {
    if (beats.length === 0) return;
    // A transaction so that the leader's reconcile pass, which calls this, is fenced.
    await withTransaction(this.db, (c) =>
      c.query(
        `UPDATE agents a SET last_heartbeat_at = to_timestamp(b.at / 1000.0)
         FROM unnest($1::uuid[], $2::float8[]) AS b(id, at) WHERE a.id = b.id AND a.state IN ('active', 'stale', 'draining')`,
        [beats.map((b) => b.id), beats.map((b) => b.at)],
      ),
    );
  }

  /** Agents for the dashboards: all live ones plus the most recently ended, newest first. */
  async list(opts: { includeEnded: boolean; limit: number }): Promise<AgentRecord[]> {
    const found = await this.db.query(
      `SELECT * FROM agents ${opts.includeEnded ? "" : "WHERE state IN ('active', 'stale', 'draining')"}
       ORDER BY (state IN ('active', 'stale', 'draining')) DESC, state_changed_at DESC LIMIT $1`,
      [opts.limit],
    );
    return found.rows.map(toRecord);
  }

  /**
   * The dashboard's agent list: role and state filter in SQL, before the limit (a role filter applied
   * after it showed 1 of 4 developers); `total` counts every agent the filters match. Live agents
   * first, then by the latest state change.
   */
  async listFiltered(f: {
    role?: string;
    state?: AgentStateName;
    includeEnded: boolean;
    limit: number;
  }): Promise<{ agents: AgentRecord[]; total: number }> {
    const where = `($1::text IS NULL OR role = $1) AND ($2::text IS NULL OR state = $2)
      AND ($3::boolean OR $2::text IS NOT NULL OR state IN ('active', 'stale', 'draining'))`;
    const args = [f.role ?? null, f.state ?? null, f.includeEnded];
    const [found, counted] = await Promise.all([
      this.db.query(
        `SELECT * FROM agents WHERE ${where}
         ORDER BY (state IN ('active', 'stale', 'draining')) DESC, state_changed_at DESC, id DESC LIMIT $4`,
        [...args, f.limit],
      ),
      this.db.query<{ n: string }>(`SELECT count(*) AS n FROM agents WHERE ${where}`, args),
    ]);
    return { agents: found.rows.map(toRecord), total: Number(counted.rows[0]?.n ?? 0) };
  }

  /** Agent counts by state and role. */
  async countsByStateAndRole(): Promise<Array<{ state: AgentStateName; role: string; count: number }>> {
    const found = await this.db.query<{ state: AgentStateName; role: string; count: string }>(
      "SELECT state, role, count(*) AS count FROM agents GROUP BY state, role",
    );
    return found.rows.map((r) => ({ state: r.state, role: r.role, count: Number(r.count) }));
  }

  /** Completed and failed attempts per agent over the last `windowMs` (health score input). */
  async outcomesSince(windowMs: number): Promise<Map<string, { completed: number; failed: number }>> {
    return attemptStats.byAgentSince(this.db, windowMs);
  }

  /** The current lease token of an active task (for ending a lease on the daemon's own initiative). */
  async currentLeaseToken(taskId: string, agentId: string): Promise<string | null> {
    return leaseReads.tokenOf(this.db, taskId, agentId);
  }
}

/** Retention: state transitions older than the cutoff, oldest first, at most `limit`. */
export function purgeTransitions(tx: Tx, cutoff: Date, limit: number): Promise<PurgeBatch> {
  return purgeOne(
    tx,
    "agent_transitions",
    `WITH d AS (DELETE FROM agent_transitions WHERE id IN
      (SELECT id FROM agent_transitions WHERE at < $1 ORDER BY at LIMIT $2) RETURNING 1)
    ${countsOf({ d: "agent_transitions" })}`,
    cutoff,
    limit,
  );
}

/**
 * Retention: agents that ended (dead or left) before the cutoff and that nothing points at any
 * more (no task attempt, live lease, pipeline step or LLM call: those go by their own keeps
 * first), with their transitions; names the agents deleted.
 */
export async function purgeEndedAgents(tx: Tx, cutoff: Date, limit: number): Promise<PurgeBatch> {
  const r = await tx.query<Record<string, number> & { agent_ids: string[] }>(
    `WITH victims AS (
      SELECT a.id FROM agents a
      WHERE a.state IN ('dead', 'left') AND a.state_changed_at < $1
        AND NOT EXISTS (SELECT 1 FROM task_attempts x WHERE x.agent_id = a.id)
        AND NOT EXISTS (SELECT 1 FROM tasks x WHERE x.lease_agent_id = a.id AND x.state = 'active')
        AND NOT EXISTS (SELECT 1 FROM pipeline_steps x WHERE x.agent_id = a.id)
        AND NOT EXISTS (SELECT 1 FROM llm_calls x WHERE x.agent_id = a.id)
      ORDER BY a.state_changed_at LIMIT $2 FOR UPDATE OF a SKIP LOCKED),
    d_transitions AS (DELETE FROM agent_transitions WHERE agent_id IN (SELECT id FROM victims) RETURNING 1),
    d_agents AS (DELETE FROM agents WHERE id IN (SELECT id FROM victims) RETURNING id)
    ${countsOf({ d_agents: "agents", d_transitions: "agent_transitions" })},
      (SELECT coalesce(array_agg(id::text), '{}') FROM d_agents) AS agent_ids`,
    [cutoff, limit],
  );
  const { agent_ids: agentIds, ...deleted }: { agent_ids: string[]; [table: string]: unknown } = r
    .rows[0] ?? {
    agent_ids: [],
  };
  const counts = deleted as Record<string, number>;
  return { deleted: counts, parents: Number(counts.agents ?? 0), agentIds };
}
