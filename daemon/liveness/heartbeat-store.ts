import type { Redis } from "ioredis";
import type { AgentCommand } from "../../contract/schemas/agents.ts";
import type { RedisKeys } from "../dispatch/redis-keys.ts";
import type { AgentStateName } from "../events/catalogue.ts";

/**
 * One round trip per heartbeat: check the agent is live, stamp the Redis clock, keep a moving
 * average of the gap between beats, collect pending commands, and list leases the agent has held
 * for more than `graceMs` but no longer reports (when it reports its task ids at all).
 */
const HEARTBEAT_LUA = `
local state = redis.call('HGET', KEYS[1], ARGV[1])
if not state then return {'unknown'} end
if state == 'dead' or state == 'left' then return {state} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local prev = redis.call('ZSCORE', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[2], now, ARGV[1])
local gap = redis.call('HGET', KEYS[3], 'gap')
if prev then
  local g = now - tonumber(prev)
  if gap and gap ~= '' then gap = math.floor(0.8 * tonumber(gap) + 0.2 * g) else gap = g end
end
redis.call('HSET', KEYS[3], 'status', ARGV[2], 'load', ARGV[3], 'gap', gap or '', 'beats',
  (tonumber(redis.call('HGET', KEYS[3], 'beats') or '0') + 1))
local cmds = redis.call('LRANGE', KEYS[4], 0, -1)
if #cmds > 0 then redis.call('DEL', KEYS[4]) end
local forgotten = {}
if ARGV[4] == '1' then
  -- A lease is forgotten only when two heartbeats in a row leave it out: one may have been sent
  -- before the claim answer reached the agent.
  local reported = {}
  for i = 6, #ARGV do reported[ARGV[i]] = true end
  local held = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now - tonumber(ARGV[5]))
  local suspects = {}
  for _, id in ipairs(held) do
    if not reported[id] then
      if redis.call('SISMEMBER', KEYS[6], id) == 1 then table.insert(forgotten, id) else table.insert(suspects, id) end
    end
  end
  redis.call('DEL', KEYS[6])
  if #suspects > 0 then redis.call('SADD', KEYS[6], unpack(suspects)) end
end
return {state, cmds, forgotten}
`;

/** Returns overdue agents with their state, using the Redis clock for "now". */
const OVERDUE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rows = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {now}
for i = 1, #rows, 2 do
  table.insert(out, rows[i])
  table.insert(out, rows[i + 1])
  table.insert(out, redis.call('HGET', KEYS[2], rows[i]) or '')
end
return out
`;

/** Notes lease grant times with the Redis clock, in one round trip. */
const ADD_LEASES_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, #ARGV do redis.call('ZADD', KEYS[1], now, ARGV[i]) end
return #ARGV
`;

/** Adds leases missing from the mirror (keeping the grant time of those present); returns how many. */
const TRACK_LEASES_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local added = 0
for i = 1, #ARGV do added = added + redis.call('ZADD', KEYS[1], 'NX', now, ARGV[i]) end
return added
`;

export type HeartbeatOutcome =
  | { kind: "ok"; state: AgentStateName; commands: AgentCommand[]; forgottenTaskIds: string[] }
  | { kind: "gone"; state: "dead" | "left" }
  | { kind: "unknown" };

export interface OverdueAgent {
  agentId: string;
  state: AgentStateName;
  lastHeartbeatAt: number;
}

type ScriptRedis = Redis & {
  ovsHeartbeat(...args: (string | number)[]): Promise<unknown[]>;
  ovsOverdue(...args: (string | number)[]): Promise<unknown[]>;
  ovsAddLeases(...args: string[]): Promise<number>;
  ovsTrackLeases(...args: string[]): Promise<number>;
};

/** The liveness layer in Redis: agent states mirror, heartbeat clock, commands and held leases. */
export class HeartbeatStore {
  private readonly redis: ScriptRedis;

  constructor(
    redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    redis.defineCommand("ovsHeartbeat", { lua: HEARTBEAT_LUA, numberOfKeys: 6 });
    redis.defineCommand("ovsAddLeases", { lua: ADD_LEASES_LUA, numberOfKeys: 1 });
    redis.defineCommand("ovsTrackLeases", { lua: TRACK_LEASES_LUA, numberOfKeys: 1 });
    redis.defineCommand("ovsOverdue", { lua: OVERDUE_LUA, numberOfKeys: 2 });
    this.redis = redis as ScriptRedis;
  }

  /** Records a heartbeat; `activeTaskIds` undefined means the agent does not report its tasks. */
  async beat(
    agentId: string,
    status: string,
    load: number,
    activeTaskIds: string[] | undefined,
    graceMs: number,
  ): Promise<HeartbeatOutcome> {
    const k = this.keys;
    const reply = await this.redis.ovsHeartbeat(
      k.agentStates,
      k.heartbeats,
      k.agentInfo(agentId),
      k.agentCommands(agentId),
      k.agentLeases(agentId),
      k.agentSuspects(agentId),
      agentId,
      status,
      load,
      activeTaskIds ? "1" : "0",
      graceMs,
      ...(activeTaskIds ?? []),
    );
    const state = reply[0] as string;
    if (state === "unknown") return { kind: "unknown" };
    if (state === "dead" || state === "left") return { kind: "gone", state };
    const commands = ((reply[1] as string[]) ?? []).map((c) => JSON.parse(c) as AgentCommand);
    return {
      kind: "ok",
      state: state as AgentStateName,
      commands,
      forgottenTaskIds: (reply[2] as string[]) ?? [],
    };
  }

  /** Mirrors an agent's state; a new live agent gets a heartbeat stamp at `at` (Redis time when omitted). */
  async setState(agentId: string, state: AgentStateName, at?: number): Promise<void> {
    const k = this.keys;
    const multi = this.redis.multi().hset(k.agentStates, agentId, state);
    if (state === "dead" || state === "left") {
      // Terminal: the id is never live again. Keep the state (so a late heartbeat gets 404, not a
      // repair from Postgres) and drop the rest.
      multi
        .zrem(k.heartbeats, agentId)
        .del(
          k.agentInfo(agentId),
          k.agentCommands(agentId),
          k.agentLeases(agentId),
          k.agentSuspects(agentId),
        );
    } else if (at !== undefined) {
      multi.zadd(k.heartbeats, "NX", at, agentId);
    }
    await multi.exec();
  }

  /** Stamps a heartbeat now (Redis clock), used at registration. */
  async stampNow(agentId: string): Promise<void> {
    const [sec, micro] = await this.redis.time();
    await this.redis.zadd(
      this.keys.heartbeats,
      String(Number(sec) * 1000 + Math.floor(Number(micro) / 1000)),
      agentId,
    );
  }

  /** Live agents whose last heartbeat is older than `olderThanMs`, and the Redis clock's now. */
  async overdue(olderThanMs: number, limit: number): Promise<{ now: number; agents: OverdueAgent[] }> {
    const reply = await this.redis.ovsOverdue(
      this.keys.heartbeats,
      this.keys.agentStates,
      olderThanMs,
      limit,
    );
    const now = Number(reply[0]);
    const agents: OverdueAgent[] = [];
    for (let i = 1; i + 2 < reply.length; i += 3) {
      agents.push({
        agentId: reply[i] as string,
        lastHeartbeatAt: Number(reply[i + 1]),
        state: ((reply[i + 2] as string) || "active") as AgentStateName,
      });
    }
    return { now, agents };
  }

  /** Every heartbeat time (for flushing to Postgres) and the Redis clock's now. */
  async all(): Promise<{ now: number; beats: Map<string, number> }> {
    const [[, time], [, rows]] = (await this.redis
      .multi()
      .time()
      .zrange(this.keys.heartbeats, "0", "-1", "WITHSCORES")
      .exec()) as [[unknown, [string, string]], [unknown, string[]]];
    const beats = new Map<string, number>();
    for (let i = 0; i + 1 < rows.length; i += 2) beats.set(rows[i] as string, Number(rows[i + 1]));
    return { now: Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000), beats };
  }

  /** Per-agent heartbeat details for the dashboards. */
  async info(
    agentIds: string[],
  ): Promise<Map<string, { status: string; load: number; gapMs: number | null; beats: number }>> {
    const out = new Map<string, { status: string; load: number; gapMs: number | null; beats: number }>();
    if (agentIds.length === 0) return out;
    const pipeline = this.redis.pipeline();
    for (const id of agentIds) pipeline.hgetall(this.keys.agentInfo(id));
    const replies = (await pipeline.exec()) ?? [];
    agentIds.forEach((id, i) => {
      const h = (replies[i]?.[1] ?? {}) as Record<string, string>;
      out.set(id, {
        status: h.status ?? "unknown",
        load: Number(h.load ?? 0),
        gapMs: h.gap ? Number(h.gap) : null,
        beats: Number(h.beats ?? 0),
      });
    });
    return out;
  }

  /** States in the mirror for these agents (missing ones are absent from the map). */
  async states(agentIds: string[]): Promise<Map<string, AgentStateName>> {
    const out = new Map<string, AgentStateName>();
    if (agentIds.length === 0) return out;
    const values = await this.redis.hmget(this.keys.agentStates, ...agentIds);
    agentIds.forEach((id, i) => {
      if (values[i]) out.set(id, values[i] as AgentStateName);
    });
    return out;
  }

  /** Queues a command for the agent's next heartbeat response. */
  async pushCommand(agentId: string, command: AgentCommand): Promise<void> {
    await this.redis.rpush(this.keys.agentCommands(agentId), JSON.stringify(command));
  }

  /** Notes leases granted to an agent (for the forgotten-lease check). */
  async addLeases(agentId: string, taskIds: string[]): Promise<void> {
    if (taskIds.length === 0) return;
    await this.redis.ovsAddLeases(this.keys.agentLeases(agentId), ...taskIds);
  }

  /**
   * Puts leases Postgres knows into the mirror if they are missing from it (a daemon killed between
   * granting a lease and noting it, or Redis lost the key). Returns how many were missing.
   */
  async trackLeases(agentId: string, taskIds: string[]): Promise<number> {
    if (taskIds.length === 0) return 0;
    return Number(await this.redis.ovsTrackLeases(this.keys.agentLeases(agentId), ...taskIds));
  }

  /** Forgets leases that ended. */
  async removeLease(agentId: string, taskId: string): Promise<void> {
    await this.redis.zrem(this.keys.agentLeases(agentId), taskId);
  }
}
