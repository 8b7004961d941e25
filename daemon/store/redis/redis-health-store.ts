import type { Redis } from "ioredis";

/** Who holds the leader lease, as its value says (`<replicaId>:<epoch>`, lua/leader-acquire-2.lua). */
export interface LeaseHolder {
  replicaId: string;
  epoch: number;
  /** Redis's PTTL of the lease (-2 once it expired after the read, -1 without expiry). */
  leaseRemainingMs: number;
}

/** What the health checks ask Redis: whether it answers, and who holds the leader lease. */
export class RedisHealthStore {
  constructor(
    private readonly redis: Redis,
    /** The registry's `leader` key. */
    private readonly leaderKey: string,
  ) {}

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  /** The lease's holder, or null when no replica holds it. */
  async leaseHolder(): Promise<LeaseHolder | null> {
    const [holder, ttl] = await Promise.all([
      this.redis.get(this.leaderKey),
      this.redis.pttl(this.leaderKey),
    ]);
    if (!holder) return null;
    const cut = holder.lastIndexOf(":");
    return { replicaId: holder.slice(0, cut), epoch: Number(holder.slice(cut + 1)), leaseRemainingMs: ttl };
  }
}
