import type { Redis } from "ioredis";

/**
 * Quarantined agents and open circuits of task types, set by auto-heal with an expiry. Kept in one
 * Redis hash per namespace (field → expiry in ms) so every replica's claim path sees them; each
 * replica reads the hash at most once per refresh and answers claims from memory, so the claim
 * path gains no round trip.
 */
export class DispatchGate {
  private agents = new Map<string, number>();
  private types = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Stops giving an agent work until `untilMs`. */
  async quarantine(agentId: string, untilMs: number): Promise<void> {
    await this.redis.hset(this.key, `agent:${agentId}`, String(untilMs));
    this.agents.set(agentId, untilMs);
  }

  /** Stops dispatching a task type until `untilMs` (its tasks stay queued). */
  async openCircuit(type: string, untilMs: number): Promise<void> {
    await this.redis.hset(this.key, `type:${type}`, String(untilMs));
    this.types.set(type, untilMs);
  }

  /** Re-reads the hash and drops expired fields. */
  async refresh(): Promise<void> {
    const all = await this.redis.hgetall(this.key);
    const now = this.now();
    const agents = new Map<string, number>();
    const types = new Map<string, number>();
    const expired: string[] = [];
    for (const [field, raw] of Object.entries(all)) {
      const until = Number(raw);
      if (!(until > now)) {
        expired.push(field);
        continue;
      }
      if (field.startsWith("agent:")) agents.set(field.slice(6), until);
      else if (field.startsWith("type:")) types.set(field.slice(5), until);
    }
    if (expired.length > 0) await this.redis.hdel(this.key, ...expired);
    this.agents = agents;
    this.types = types;
  }

  isQuarantined(agentId: string): boolean {
    return (this.agents.get(agentId) ?? 0) > this.now();
  }

  isCircuitOpen(type: string): boolean {
    return (this.types.get(type) ?? 0) > this.now();
  }

  /** The quarantines and open circuits in force, with their expiry (ISO). */
  snapshot(): { quarantinedAgents: Record<string, string>; openCircuits: Record<string, string> } {
    const now = this.now();
    const live = (m: Map<string, number>) =>
      Object.fromEntries([...m].filter(([, t]) => t > now).map(([k, t]) => [k, new Date(t).toISOString()]));
    return { quarantinedAgents: live(this.agents), openCircuits: live(this.types) };
  }
}
