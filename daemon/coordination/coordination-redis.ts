import type { Redis } from "ioredis";
import type { RedisKeys } from "../dispatch/redis-keys.ts";

/** A directed hand-off that nobody claimed is dropped after this (the task went back to its queue long before). */
const ASSIGNED_TTL_SECONDS = 3_600;

/**
 * The Redis side of coordination: directed hand-offs of reassigned tasks, and reading and rebuilding
 * the lease and liveness mirrors from Postgres (the system of record).
 */
export class CoordinationRedis {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** Round-trip time of a PING. */
  async ping(): Promise<void> {
    await this.redis.ping();
  }

  /** Puts a task on an agent's directed list: its next claim takes it before its queues. */
  async assign(agentId: string, taskId: string): Promise<void> {
    const key = this.keys.agentAssigned(agentId);
    await this.redis.multi().rpush(key, taskId).expire(key, ASSIGNED_TTL_SECONDS).exec();
  }

  /** Takes up to `max` directed task ids of an agent (TaskService's claim calls this first). */
  async takeFor(agentId: string, max: number): Promise<string[]> {
    const taken = await this.redis.lpop(this.keys.agentAssigned(agentId), max);
    return taken ?? [];
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
