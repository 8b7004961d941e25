import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { REDIS_URL } from "../support/services.ts";

const run = promisify(execFile);

export type RedisBenchmarkResult =
  | { installed: false; note: string }
  | { installed: true; requests: number; clients: number; db: number; opsPerSec: Record<string, number> };

/** Parses `redis-benchmark -q` output: "SET: 86206.90 requests per second, p50=0.287 msec". */
export function parseRedisBenchmark(output: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of output.split(/[\r\n]+/)) {
    const m = /^\s*([A-Za-z_ ()0-9-]+?): ([\d.]+) requests per second/.exec(line);
    if (m) out[(m[1] as string).trim()] = Number(m[2]);
  }
  return out;
}

/**
 * The storage ceiling: redis-benchmark against the same Redis (SET, GET, LPUSH, LPOP, no pipelining,
 * its default 50 clients). It runs in a database index Overseer and BullMQ do not use, and deletes
 * the two keys it writes there ("key:__rand_int__", "mylist") unless they existed before.
 */
export async function redisBenchmark(requests: number, db = 9): Promise<RedisBenchmarkResult> {
  const url = new URL(REDIS_URL);
  const host = url.hostname || "127.0.0.1";
  const port = url.port || "6379";
  const keys = ["key:__rand_int__", "mylist"];
  const redis = new Redis(REDIS_URL, { db });
  try {
    const existing = await redis.exists(...keys);
    let stdout: string;
    try {
      ({ stdout } = await run(
        "redis-benchmark",
        [
          "-h",
          host,
          "-p",
          port,
          "--dbnum",
          String(db),
          "-q",
          "-n",
          String(requests),
          "-t",
          "set,get,lpush,lpop",
          "-P",
          "1",
        ],
        { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      ));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        return { installed: false, note: "redis-benchmark not installed" };
      }
      throw error;
    }
    if (existing === 0) await redis.del(...keys);
    return { installed: true, requests, clients: 50, db, opsPerSec: parseRedisBenchmark(stdout) };
  } finally {
    redis.disconnect();
  }
}
