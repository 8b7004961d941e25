import type { Redis } from "ioredis";

/**
 * A leader lease in Redis with an increasing epoch (the fencing token). Acquire takes the lease
 * only when free and bumps the epoch — never below the floor, the epoch Postgres's fence already
 * names, so a Redis that lost its counter cannot hand out an epoch the fence would refuse — and
 * renew extends it only while the value is still ours. When another replica holds it, the answer
 * is minus the lease's remaining time, so a follower can try again right when it expires.
 */
const ACQUIRE_LUA = `
local v = redis.call('GET', KEYS[1])
if v then
  if string.sub(v, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. ':' then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(string.sub(v, string.len(ARGV[1]) + 2))
  end
  local left = redis.call('PTTL', KEYS[1])
  -- A lease key without an expiry (set by hand) would otherwise make followers poll every few ms.
  if left < 0 then left = tonumber(ARGV[2]) end
  if left < 1 then left = 1 end
  return -left
end
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if current < tonumber(ARGV[3]) then redis.call('SET', KEYS[2], ARGV[3]) end
local epoch = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. epoch, 'PX', ARGV[2])
return epoch
`;

const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

type LeaderRedis = Redis & {
  ovsLeaderAcquire(k1: string, k2: string, id: string, ttl: number, floor: number): Promise<number>;
  ovsLeaderRelease(k1: string, value: string): Promise<number>;
};

/** The lease's answer: the epoch held, or (0 and) how long another replica still holds it. */
export interface LeaseAnswer {
  epoch: number;
  heldByOtherForMs: number;
}

export class LeaderLease {
  private readonly redis: LeaderRedis;

  constructor(
    redis: Redis,
    private readonly key: string,
    private readonly epochKey: string,
    readonly replicaId: string,
    readonly ttlMs: number,
  ) {
    redis.defineCommand("ovsLeaderAcquire", { lua: ACQUIRE_LUA, numberOfKeys: 2 });
    redis.defineCommand("ovsLeaderRelease", { lua: RELEASE_LUA, numberOfKeys: 1 });
    this.redis = redis as LeaderRedis;
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
