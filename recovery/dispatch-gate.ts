/**
 * Where the gates are kept (daemon/store/redis/heal-gates-store.ts): field (`agent:<name>` or
 * `type:<type>`) → expiry in ms.
 */
export interface HealGatesPort {
  /** Sets `field` to expire at `untilMs`, pruning fields that expired by `nowMs`, atomically. */
  set(field: string, untilMs: number, nowMs: number): Promise<void>;
  /** Every field with its expiry (ms), expired ones included; never deletes. */
  all(): Promise<Map<string, number>>;
}

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
    private readonly store: HealGatesPort,
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
    await this.store.set(field, untilMs, this.now());
  }

  /** Re-reads the hash; expired fields are ignored (never deleted here: see the class comment). */
  async refresh(): Promise<void> {
    const all = await this.store.all();
    const now = this.now();
    const agents = new Map<string, number>();
    const types = new Map<string, number>();
    for (const [field, until] of all) {
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
