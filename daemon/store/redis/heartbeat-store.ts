import type { Redis } from "ioredis";
import type { AgentCommand } from "../../../contract/schemas/agents.ts";
import type { AgentStateName } from "../../events/catalogue.ts";
import { type OverseerScripts, scripted } from "./lua-scripts.ts";
import type { RedisKeys } from "./redis-keys.ts";

export type HeartbeatOutcome =
  | { kind: "ok"; state: AgentStateName; commands: AgentCommand[]; forgottenTaskIds: string[] }
  | { kind: "gone"; state: "dead" | "left" }
  | { kind: "unknown" };

/** One heartbeat to record (see beatMany). */
export interface Beat {
  agentId: string;
  status: string;
  load: number;
  activeTaskIds: string[] | undefined;
  graceMs: number;
}

export interface OverdueAgent {
  agentId: string;
  state: AgentStateName;
  lastHeartbeatAt: number;
}

/** The liveness layer in Redis: agent states mirror, heartbeat clock, commands and held leases. */
export class HeartbeatStore {
  private readonly redis: Redis & OverseerScripts;

  constructor(
    redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    this.redis = scripted(redis);
  }

  /**
   * Records heartbeats (`activeTaskIds` undefined: the agent does not report its tasks), many in
   * one round trip (one pipeline of the heartbeat script, one call per agent): 10,000 session
   * agents cost a few pipelines a second instead of 10,000 round trips.
   */
  async beatMany(beats: readonly Beat[]): Promise<HeartbeatOutcome[]> {
    const k = this.keys;
    const pipeline = this.redis.pipeline() as unknown as OverseerScripts & {
      exec(): Promise<Array<[Error | null, unknown]> | null>;
    };
    for (const b of beats) {
      void pipeline.ovsHeartbeat(
        k.agentStates,
        k.heartbeats,
        k.agentInfo(b.agentId),
        k.agentCommands(b.agentId),
        k.agentLeases(b.agentId),
        k.agentSuspects(b.agentId),
        b.agentId,
        b.status,
        b.load,
        b.activeTaskIds ? "1" : "0",
        b.graceMs,
        ...(b.activeTaskIds ?? []),
      );
    }
    const replies = (await pipeline.exec()) ?? [];
    return beats.map((_, i) => {
      const [error, reply] = replies[i] ?? [new Error("no reply from the heartbeat pipeline"), null];
      if (error) throw error;
      return outcomeOf(reply as unknown[]);
    });
  }

  /** Mirrors an agent's state; a new live agent gets a heartbeat stamp at `at` (Redis time when omitted). */
  async setState(agentId: string, state: AgentStateName, at?: number): Promise<void> {
    const k = this.keys;
    const multi = this.redis.multi().hset(k.agentStates, agentId, state);
    if (state === "dead" || state === "left") {
      // Terminal: the id is never live again. Keep the state (so a late heartbeat gets 404, not a
      // repair from Postgres) and drop the rest.
      multi
        .hdel(k.agentSessions, agentId)
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

  /**
   * Mirrors newly registered agents as active with a heartbeat stamped now (Redis clock): one
   * transaction for all of them, after one read of the clock.
   */
  async enrollMany(agentIds: readonly string[]): Promise<void> {
    if (agentIds.length === 0) return;
    const [sec, micro] = await this.redis.time();
    const at = String(Number(sec) * 1000 + Math.floor(Number(micro) / 1000));
    const multi = this.redis.multi();
    for (const id of agentIds)
      multi.hset(this.keys.agentStates, id, "active").zadd(this.keys.heartbeats, at, id);
    await multi.exec();
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

/** The heartbeat script's answer: the agent's state, then its commands and forgotten leases. */
function outcomeOf(reply: unknown[]): HeartbeatOutcome {
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
