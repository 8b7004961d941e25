import type { Principal } from "./auth.ts";

/**
 * Token buckets per principal for control routes (`config.rateLimit: "control"`), in memory on each
 * replica: a burst of `burst` requests, refilled at `perMinute`. Pure apart from the injected clock.
 */
export class ControlRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly burst: number,
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 10_000,
  ) {}

  /** Takes one token for `key`: null when allowed, else the seconds until the next token. */
  take(key: string): number | null {
    const now = this.now();
    const ratePerMs = this.perMinute / 60_000;
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    const tokens = Math.min(this.burst, b.tokens + (now - b.at) * ratePerMs);
    if (tokens >= 1) {
      // Bounded: principals are few (roles and agents), but an agent fleet can be large.
      if (!this.buckets.has(key) && this.buckets.size >= this.maxKeys) this.buckets.clear();
      this.buckets.set(key, { tokens: tokens - 1, at: now });
      return null;
    }
    this.buckets.set(key, { tokens, at: now });
    return Math.max(1, Math.ceil((1 - tokens) / ratePerMs / 1000));
  }
}

/** The bucket key of a principal: one per role token, one per agent. */
export function principalKey(who: Principal | null): string {
  if (!who) return "anonymous";
  if (who.kind === "role") return `role:${who.role}`;
  if (who.kind === "agent") return `agent:${who.agentId}`;
  return "registrar";
}
