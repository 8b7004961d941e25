import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { type EmbeddedRedis, startEmbeddedRedis } from "../../app/embedded/redis-server.ts";
import { portIsFree, recordingLogger, removeDir, tempDir } from "./helpers.ts";

describe("embedded redis-server", () => {
  let dir: string | undefined;
  let redis: EmbeddedRedis | undefined;
  afterEach(async () => {
    await redis?.stop();
    if (dir) await removeDir(dir);
    redis = undefined;
    dir = undefined;
  });

  it("starts on a free port, answers PING, stops and frees the port", { timeout: 15_000 }, async () => {
    dir = await tempDir("redis");
    redis = await startEmbeddedRedis({ dataDir: dir, logger: recordingLogger() });
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);

    const client = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      expect(await client.ping()).toBe("PONG");
      // The demo's queues rely on these: no eviction, no persistence.
      expect(await client.config("GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "noeviction"]);
      expect(await client.config("GET", "save")).toEqual(["save", ""]);
      expect(await client.config("GET", "appendonly")).toEqual(["appendonly", "no"]);
    } finally {
      client.disconnect();
    }

    await redis.stop();
    await redis.stop(); // idempotent
    expect(await portIsFree(redis.port)).toBe(true);
  });

  it("says what to install when redis-server is not on PATH", async () => {
    dir = await tempDir("redis");
    await expect(
      startEmbeddedRedis({
        dataDir: dir,
        logger: recordingLogger(),
        searchPath: dir, // an empty directory: nothing to find
        unreachableUrl: "redis://127.0.0.1:6379",
      }),
    ).rejects.toThrow(
      "no Redis reachable at redis://127.0.0.1:6379 and redis-server is not installed: install it " +
        "(Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL",
    );
  });
});
