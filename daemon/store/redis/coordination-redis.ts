import type { Redis } from "ioredis";
import { scripted } from "./lua-scripts.ts";
import type { RedisKeys } from "./redis-keys.ts";

/** A directed hand-off that nobody claimed is dropped after this (the task went back to its queue long before). */
const ASSIGNED_TTL_SECONDS = 3_600;
/** How stale a replica's view of which agents have directed work may get (docs/coordination.md). */
export const DIRECTED_REFRESH_MS = 1_000;

/**
 * The Redis side of coordination: directed hand-offs of reassigned tasks, and reading and rebuilding
 * the lease and liveness mirrors from Postgres (the system of record).
 */
export class CoordinationRedis {
  /** Agents with directed work, as this replica last read them: claims of others skip Redis. */
  private withWork = new Set<string>();
  private refreshedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | null = null;
  /** This replica's own assigns, by time: a refresh that read the set before one landed keeps it. */
  private localAdds = new Map<string, number>();
  /** The set of agent ids with a directed list (same hash tag as the lists). */
  private readonly withWorkKey: string;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly now: () => number = Date.now,
  ) {
    this.withWorkKey = keys.agentsWithDirected;
  }

  /** Round-trip time of a PING. */
  async ping(): Promise<void> {
    await this.redis.ping();
  }

  /**
   * Puts a task on an agent's directed list (entry `<taskId> <type>`): its next claim takes it
   * before its queues. The agent joins the set of agents with directed work.
   */
  async assign(agentId: string, taskId: string, type: string): Promise<void> {
    const key = this.keys.agentAssigned(agentId);
    await this.redis
      .multi()
      .rpush(key, `${taskId} ${type}`)
      .expire(key, ASSIGNED_TTL_SECONDS)
      .sadd(this.withWorkKey, agentId)
      .exec();
    this.withWork.add(agentId);
    this.localAdds.set(agentId, this.now());
  }

  /**
   * Takes up to `max` directed tasks of an agent (TaskService's claim calls this first). An agent
   * this replica does not know to have directed work costs no Redis round trip: the set of such
   * agents is re-read in the background at most once per DIRECTED_REFRESH_MS.
   */
  async takeFor(agentId: string, max: number): Promise<Array<{ taskId: string; type: string | null }>> {
    if (this.now() - this.refreshedAt >= DIRECTED_REFRESH_MS && !this.refreshing) {
      this.refreshing = this.refresh()
        .catch(() => {})
        .finally(() => {
          this.refreshing = null;
        });
    }
    if (!this.withWork.has(agentId)) return [];
    const key = this.keys.agentAssigned(agentId);
    const taken = await scripted(this.redis).ovsTakeDirected(key, this.withWorkKey, String(max), agentId);
    if (taken.length < max) this.withWork.delete(agentId);
    return taken.map((entry) => {
      const at = entry.indexOf(" ");
      // Entries written before types were recorded hold the id alone.
      return at < 0
        ? { taskId: entry, type: null }
        : { taskId: entry.slice(0, at), type: entry.slice(at + 1) };
    });
  }

  /** Re-reads which agents have directed work (every replica's assigns). */
  async refresh(): Promise<void> {
    const started = this.now();
    const members = await this.redis.smembers(this.withWorkKey);
    const fresh = new Set(members);
    for (const [id, at] of this.localAdds) {
      if (at >= started) fresh.add(id);
      else this.localAdds.delete(id);
    }
    this.withWork = fresh;
    this.refreshedAt = started;
  }

  /** Each agent's Redis lease set. */
  async leaseSets(agentIds: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (agentIds.length === 0) return out;
    const p = this.redis.pipeline();
    for (const id of agentIds) p.zrange(this.keys.agentLeases(id), "0", "-1");
    const replies = (await p.exec()) ?? [];
    agentIds.forEach((id, i) => {
      out.set(id, (replies[i]?.[1] as string[] | undefined) ?? []);
    });
    return out;
  }

  /** Heartbeat ages (Redis clock) of the agents in the heartbeat set. */
  async heartbeatAges(agentIds: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (agentIds.length === 0) return out;
    const [[, time], [, scores]] = (await this.redis
      .multi()
      .time()
      .zmscore(this.keys.heartbeats, ...agentIds)
      .exec()) as [[unknown, [string, string]], [unknown, Array<string | null>]];
    const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
    agentIds.forEach((id, i) => {
      const at = scores[i];
      if (at !== null && at !== undefined) out.set(id, Math.max(0, now - Number(at)));
    });
    return out;
  }

  /**
   * Makes the mirrors of live agents match Postgres: state, lease set (exactly Postgres's active
   * leases; suspects cleared), and a heartbeat entry for agents missing one (Postgres's last flushed
   * time, so a silent agent still goes stale). Heartbeat entries of agents not live are dropped.
   */
  async rebuild(
    live: Array<{ id: string; state: string; lastHeartbeatAt: Date; leases: string[] }>,
  ): Promise<{ agents: number; heartbeatsDropped: number }> {
    const liveIds = new Set(live.map((a) => a.id));
    const [sec, micro] = await this.redis.time();
    const now = Number(sec) * 1000 + Math.floor(Number(micro) / 1000);
    for (const a of live) {
      const m = this.redis
        .multi()
        .hset(this.keys.agentStates, a.id, a.state)
        .del(this.keys.agentLeases(a.id), this.keys.agentSuspects(a.id))
        .zadd(this.keys.heartbeats, "NX", String(a.lastHeartbeatAt.getTime()), a.id);
      // Grant time is now: the forgotten-lease check then gives the agent its full grace again.
      for (const id of a.leases) m.zadd(this.keys.agentLeases(a.id), String(now), id);
      await m.exec();
    }
    const beating = await this.redis.zrange(this.keys.heartbeats, "0", "-1");
    const stray = beating.filter((id) => !liveIds.has(id));
    if (stray.length > 0) await this.redis.zrem(this.keys.heartbeats, ...stray);
    return { agents: live.length, heartbeatsDropped: stray.length };
  }
}
