import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import pg from "pg";
import { DATABASE_URL, REDIS_URL, TOKENS } from "../../test/helpers/test-env.ts";

// The same Redis and Postgres the test suite uses (TEST_REDIS_URL / TEST_DATABASE_URL override them).
export { DATABASE_URL, REDIS_URL, TOKENS };

/** A fresh Overseer namespace for one scenario: `bench_<tag>_<8 hex>`. */
export function benchNamespace(tag: string): string {
  return `bench_${tag}_${randomBytes(4).toString("hex")}`;
}

/** Deletes every key matching `pattern` (SCAN, never KEYS); returns how many. */
export async function deleteKeys(redis: Redis, pattern: string): Promise<number> {
  let deleted = 0;
  let cursor = "0";
  let rounds = 0;
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
    if (++rounds > 1_000_000) throw new Error(`SCAN of ${pattern} did not finish`);
  } while (cursor !== "0");
  return deleted;
}

/** deleteKeys with a connection of its own. */
export async function dropKeys(pattern: string): Promise<number> {
  const redis = redisClient();
  try {
    return await deleteKeys(redis, pattern);
  } finally {
    redis.disconnect();
  }
}

export function redisClient(): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: null });
}

/** A plain client of the bench database (outside any namespace). */
export async function pgClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  return client;
}

/** Drops a schema of the bench database and all it holds, with a connection of its own. */
export async function dropSchema(schema: string): Promise<void> {
  const client = await pgClient();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  } finally {
    await client.end();
  }
}

export interface RedisCounters {
  /** Commands processed, including the ones Lua scripts run. */
  commands: number;
  /** Script invocations (EVALSHA/EVAL). */
  scripts: number;
  /** Redis server CPU time (user + sys), ms. */
  cpuMs: number;
  byCommand: Map<string, number>;
}

/** Reads Redis's own counters (INFO stats, cpu, commandstats). */
export async function redisCounters(redis: Redis): Promise<RedisCounters> {
  const info = await redis.info("everything");
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1] ?? 0);
  const byCommand = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    byCommand.set(m[1] as string, Number(m[2]));
  return {
    commands: field("total_commands_processed"),
    scripts: (byCommand.get("evalsha") ?? 0) + (byCommand.get("eval") ?? 0),
    cpuMs: (field("used_cpu_user") + field("used_cpu_sys")) * 1000,
    byCommand,
  };
}

/** Counter growth between two readings, per unit of work; the INFO calls themselves are noise (2). */
export function redisDelta(before: RedisCounters, after: RedisCounters, units: number) {
  const top: Record<string, number> = {};
  const deltas = [...after.byCommand].map(([cmd, n]) => [cmd, n - (before.byCommand.get(cmd) ?? 0)] as const);
  for (const [cmd, n] of deltas.filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1])) {
    if (cmd === "info") continue;
    top[cmd] = round(n / units, 2);
  }
  return {
    commandsPerUnit: round((after.commands - before.commands) / units, 2),
    scriptsPerUnit: round((after.scripts - before.scripts) / units, 2),
    cpuUsPerUnit: round(((after.cpuMs - before.cpuMs) * 1000) / units, 1),
    commandsByType: top,
  };
}

export function round(value: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
