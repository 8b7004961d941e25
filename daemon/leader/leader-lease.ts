import type { Redis } from "ioredis";

/**
 * A leader lease in Redis with an increasing epoch (the fencing token). Acquire takes the lease
 * only when free and bumps the epoch; renew extends it only while the value is still ours.
 */
const ACQUIRE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  local v = redis.call('GET', KEYS[1])
  if string.sub(v, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. ':' then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(string.sub(v, string.len(ARGV[1]) + 2))
  end
  return 0
end
local epoch = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. epoch, 'PX', ARGV[2])
return epoch
`;

const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

type LeaderRedis = Redis & {
  ovsLeaderAcquire(k1: string, k2: string, id: string, ttl: number): Promise<number>;
  ovsLeaderRelease(k1: string, value: string): Promise<number>;
};

export class LeaderLease {
  private readonly redis: LeaderRedis;
  /** The epoch we hold, or 0 when not leader. */
  epoch = 0;

  constructor(
    redis: Redis,
    private readonly key: string,
    private readonly epochKey: string,
    private readonly replicaId: string,
    private readonly ttlMs: number,
  ) {
    redis.defineCommand("ovsLeaderAcquire", { lua: ACQUIRE_LUA, numberOfKeys: 2 });
    redis.defineCommand("ovsLeaderRelease", { lua: RELEASE_LUA, numberOfKeys: 1 });
    this.redis = redis as LeaderRedis;
  }

  /** Acquires or renews; returns the epoch held (0 when another replica leads). */
  async tryAcquire(): Promise<number> {
    this.epoch = Number(
      await this.redis.ovsLeaderAcquire(this.key, this.epochKey, this.replicaId, this.ttlMs),
    );
    return this.epoch;
  }

  /** Gives the lease up so another replica can take over at once. */
  async release(): Promise<void> {
    if (this.epoch > 0)
      await this.redis.ovsLeaderRelease(this.key, `${this.replicaId}:${this.epoch}`).catch(() => 0);
    this.epoch = 0;
  }
}
