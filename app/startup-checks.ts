import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Db } from "../daemon/store/pg-pool.ts";
import { autovacuumSetting } from "../daemon/store/postgres-server-store.ts";

/** Redis must never evict: an evicted queue entry or lease is silently lost work. */
export async function checkRedisPolicy(redis: Redis, log: Logger): Promise<void> {
  try {
    const reply = (await redis.config("GET", "maxmemory-policy")) as string[];
    const policy = reply[1];
    if (policy && policy !== "noeviction") {
      log.error(
        { policy },
        `Redis maxmemory-policy is ${policy}: set it to noeviction, or Redis may evict queued work under memory pressure`,
      );
    }
  } catch (error) {
    log.warn({ err: error }, "could not read Redis maxmemory-policy (CONFIG may be disabled)");
  }
}

/**
 * Retention deletes finished rows; without (auto)vacuum their space is never reused and the
 * tables grow anyway (docs/retention.md). Warn, as for Redis's eviction policy.
 */
export async function checkAutovacuum(db: Db, log: Logger): Promise<void> {
  try {
    if ((await autovacuumSetting(db)) === "off") {
      log.warn(
        "Postgres autovacuum is off: rows deleted by retention leave dead space the tables never reuse; turn it on or VACUUM on a schedule",
      );
    }
  } catch (error) {
    log.warn({ err: error }, "could not read Postgres autovacuum setting");
  }
}
