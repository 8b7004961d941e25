import type { Redis } from "ioredis";

/**
 * Sets one field and, in the same atomic step, deletes the fields that expired by the caller's
 * clock (compare-and-delete: a field another replica just set with a later expiry is never
 * touched). KEYS[1] the hash; ARGV: now, field, until.
 */
const SET_AND_PRUNE = `
local now = tonumber(ARGV[1])
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local expiry = tonumber(all[i + 1])
  if all[i] ~= ARGV[2] and (expiry == nil or expiry <= now) then redis.call('HDEL', KEYS[1], all[i]) end
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return 1`;

/**
 * Quarantined agents (by registration name: ids change on every registration) and open circuits
 * of task types, set by auto-heal with an expiry. Kept in one Redis hash per namespace (field →
 * expiry in ms) so every replica's claim path sees them; each replica reads the hash at most once
 * per refresh and answers claims from memory, so the claim path gains no round trip. Refreshing
 * only reads (expired fields are ignored); expired fields are pruned atomically by whoever sets a
 * field, so one replica's refresh can never delete what another just set.
 */
export class DispatchGate {
  private agents = new Map<string, number>();
  private types = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Stops giving every registration of the agent name `name` work until `untilMs`. */
  async quarantine(name: string, untilMs: number): Promise<void> {
    await this.set(`agent:${name}`, untilMs);
    this.agents.set(name, untilMs);
  }

  /** Stops dispatching a task type until `untilMs` (its tasks stay queued). */
  async openCircuit(type: string, untilMs: number): Promise<void> {
    await this.set(`type:${type}`, untilMs);
    this.types.set(type, untilMs);
  }

  private async set(field: string, untilMs: number): Promise<void> {
    await this.redis.eval(SET_AND_PRUNE, 1, this.key, String(this.now()), field, String(untilMs));
  }

  /** Re-reads the hash; expired fields are ignored (never deleted here: see the class comment). */
  async refresh(): Promise<void> {
    const all = await this.redis.hgetall(this.key);
    const now = this.now();
    const agents = new Map<string, number>();
    const types = new Map<string, number>();
    for (const [field, raw] of Object.entries(all)) {
      const until = Number(raw);
      if (!(until > now)) continue;
      if (field.startsWith("agent:")) agents.set(field.slice(6), until);
      else if (field.startsWith("type:")) types.set(field.slice(5), until);
    }
    this.agents = agents;
    this.types = types;
  }

  /** Whether the agent name `name` is quarantined (every registration under that name). */
  isQuarantined(name: string): boolean {
    return (this.agents.get(name) ?? 0) > this.now();
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
