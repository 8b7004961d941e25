import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { redisKeys } from "../../daemon/store/redis/redis-keys.ts";
import { EVENTS_STREAM_MAX_LEN } from "../../daemon/store/redis/task-queues.ts";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { REDIS_URL } from "../helpers/test-env.ts";

// The soak showed BullMQ's per-queue events streams (10,000 entries by default, read by nothing
// here) as the slowest-growing Redis memory; the daemon caps them.
let d: TestDaemon;
let redis: Redis;
beforeAll(async () => {
  d = await startTestDaemon();
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  redis?.disconnect();
  await d?.close();
});

it("keeps each queue's BullMQ events stream near its cap", async () => {
  const type = "cap.events";
  for (let i = 0; i < 15; i++) {
    await Promise.all(
      Array.from({ length: 100 }, () => d.api("POST", "/api/tasks", { body: { type, payload: {} } })),
    );
  }
  const base = `${redisKeys(d.namespace).bullPrefix}:${type}`;
  expect(await redis.hget(`${base}:meta`, "opts.maxLenEvents")).toBe(String(EVENTS_STREAM_MAX_LEN));
  const length = await redis.xlen(`${base}:events`);
  // Trimming is approximate (whole stream nodes of up to 100 entries), so allow one node over.
  expect(length).toBeGreaterThan(0);
  expect(length).toBeLessThanOrEqual(EVENTS_STREAM_MAX_LEN + 100);
});
