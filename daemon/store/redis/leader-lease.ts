import type { Redis } from "ioredis";
import { type OverseerScripts, scripted } from "./lua-scripts.ts";

/** The lease's answer: the epoch held, or (0 and) how long another replica still holds it. */
export interface LeaseAnswer {
  epoch: number;
  heldByOtherForMs: number;
}

/**
 * A leader lease in Redis with an increasing epoch (the fencing token). Acquire takes the lease
 * only when free and bumps the epoch — never below the floor, the epoch Postgres's fence already
 * names, so a Redis that lost its counter cannot hand out an epoch the fence would refuse — and
 * renew extends it only while the value is still ours. When another replica holds it, the answer
 * is minus the lease's remaining time, so a follower can try again right when it expires
 * (lua/leader-acquire-2.lua).
 */
export class LeaderLease {
  private readonly redis: Redis & OverseerScripts;

  constructor(
    redis: Redis,
    private readonly key: string,
    private readonly epochKey: string,
    readonly replicaId: string,
    readonly ttlMs: number,
  ) {
    this.redis = scripted(redis);
  }

  /** Acquires (epoch above `floor`) or renews. */
  async tryAcquire(floor: number): Promise<LeaseAnswer> {
    const n = Number(
      await this.redis.ovsLeaderAcquire(this.key, this.epochKey, this.replicaId, this.ttlMs, floor),
    );
    return n > 0 ? { epoch: n, heldByOtherForMs: 0 } : { epoch: 0, heldByOtherForMs: -n };
  }

  /** Gives the lease up so another replica can take over at once. */
  async release(epoch: number): Promise<void> {
    if (epoch > 0) await this.redis.ovsLeaderRelease(this.key, `${this.replicaId}:${epoch}`).catch(() => 0);
  }
}
