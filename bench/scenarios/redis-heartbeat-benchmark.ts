import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { deleteKeys, REDIS_URL } from "../support/services.ts";

const run = promisify(execFile);

/**
 * The Redis work of one heartbeat, as a stand-alone script: the daemon's heartbeat is one EVALSHA of
 * a script (daemon/liveness/heartbeat-store.ts) that reads the agent's state, reads the Redis clock,
 * moves the agent in the heartbeat sorted set, updates its hash (status, load, gap, beats) and reads
 * its command list. This script runs the same commands on keys of its own (the lease bookkeeping is
 * skipped: the fleet sends no task ids).
 */
export const HEARTBEAT_LIKE_LUA = [
  "local s = redis.call('HGET', KEYS[1], ARGV[1])",
  "local t = redis.call('TIME')",
  "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)",
  "local prev = redis.call('ZSCORE', KEYS[2], ARGV[1])",
  "redis.call('ZADD', KEYS[2], now, ARGV[1])",
  "local gap = redis.call('HGET', KEYS[3], 'gap')",
  "redis.call('HSET', KEYS[3], 'status', 'active', 'load', '0', 'gap', gap or '', 'beats', (tonumber(redis.call('HGET', KEYS[3], 'beats') or '0') + 1))",
  "redis.call('LRANGE', KEYS[4], 0, -1)",
  "return 1",
].join(" ");

export type RedisLatencyResult =
  | { installed: false; note: string }
  | {
      installed: true;
      requests: number;
      clients: number;
      db: number;
      command: string;
      opsPerSec: number;
      latencyMs: { avg: number; p50: number; p95: number; p99: number; max: number };
    };

/** Parses one data line of `redis-benchmark --csv` (Redis 7: test, rps, avg, min, p50, p95, p99, max). */
export function parseRedisBenchmarkCsv(output: string): Array<{ test: string; values: number[] }> {
  const rows: Array<{ test: string; values: number[] }> = [];
  for (const line of output.split(/[\r\n]+/)) {
    const cells = [...line.matchAll(/"((?:[^"]|"")*)"/g)].map((m) => (m[1] as string).replace(/""/g, '"'));
    if (cells.length < 8 || cells[0] === "test") continue;
    rows.push({ test: cells[0] as string, values: cells.slice(1).map(Number) });
  }
  return rows;
}

/**
 * The storage limit of the heartbeat path: redis-benchmark running the heartbeat-like script with
 * EVAL (50 clients, no pipelining, agent ids random over `agents`) against the same Redis, in
 * database `db`, on keys under a random prefix that are deleted afterwards.
 */
export async function redisHeartbeatBenchmark(
  requests: number,
  agents: number,
  db = 9,
): Promise<RedisLatencyResult> {
  const url = new URL(REDIS_URL);
  const prefix = `benchhb_${randomBytes(4).toString("hex")}`;
  const clients = 50;
  const redis = new Redis(REDIS_URL, { db });
  try {
    let stdout: string;
    try {
      ({ stdout } = await run(
        "redis-benchmark",
        [
          ...["-h", url.hostname || "127.0.0.1", "-p", url.port || "6379", "--dbnum", String(db)],
          ...["-n", String(requests), "-c", String(clients), "-r", String(agents), "-P", "1", "--csv"],
          "EVAL",
          HEARTBEAT_LIKE_LUA,
          "4",
          `${prefix}:states`,
          `${prefix}:beats`,
          `${prefix}:agent:__rand_int__`,
          `${prefix}:cmds:__rand_int__`,
          "__rand_int__",
        ],
        { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      ));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT")
        return { installed: false, note: "redis-benchmark not installed" };
      throw error;
    }
    const row = parseRedisBenchmarkCsv(stdout)[0];
    if (!row) throw new Error(`redis-benchmark printed no result:\n${stdout.slice(0, 500)}`);
    const [rps, avg, , p50, p95, p99, max] = row.values as number[];
    return {
      installed: true,
      requests,
      clients,
      db,
      command: "EVAL <heartbeat-like script> (HGET, TIME, ZSCORE, ZADD, 2×HGET, HSET, LRANGE)",
      opsPerSec: rps ?? 0,
      latencyMs: { avg: avg ?? 0, p50: p50 ?? 0, p95: p95 ?? 0, p99: p99 ?? 0, max: max ?? 0 },
    };
  } finally {
    await deleteKeys(redis, `${prefix}:*`).catch(() => {});
    redis.disconnect();
  }
}
