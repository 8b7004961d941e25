import type { Redis } from "ioredis";
import { scripted } from "./lua-scripts.ts";

/**
 * Auto-heal's gates in Redis: one hash per namespace, field (`agent:<name>` or `type:<type>`) →
 * expiry in ms, so every replica's claim path sees them. Setting a field prunes the expired ones
 * atomically (lua/heal-gate-set-1.lua); reading never deletes.
 */
export class HealGatesStore {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
  ) {}

  /** Sets `field` to expire at `untilMs`, pruning fields that expired by `nowMs`. */
  async set(field: string, untilMs: number, nowMs: number): Promise<void> {
    await scripted(this.redis).ovsHealGateSet(this.key, String(nowMs), field, String(untilMs));
  }

  /** Every field with its expiry (ms); expired ones included. */
  async all(): Promise<Map<string, number>> {
    const raw = await this.redis.hgetall(this.key);
    return new Map(Object.entries(raw).map(([field, until]) => [field, Number(until)]));
  }
}
