import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { redisKeys } from "../../daemon/store/redis/redis-keys.ts";
import { eventually, startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { REDIS_URL } from "../helpers/test-env.ts";

/**
 * Upgrading to the hash-tagged BullMQ prefix (`ovs:<ns>:bull` → `ovs:{<ns>}:bull`) needs no
 * migration: a task queued before the upgrade has its dispatch entry under the old prefix only,
 * and the reconciler re-queues it under the new one once it is older than its settle time.
 */
let d: TestDaemon;
let redis: Redis;

beforeAll(async () => {
  d = await startTestDaemon();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  redis?.disconnect();
  await d?.close();
});

it("a task whose dispatch entry is under the old prefix is re-queued by the reconciler and claimed", async () => {
  const type = "upg.old";
  const { id } = (await d.api("POST", "/api/tasks", { body: { type, payload: {} } })).body;
  // The state an old version left behind: the job under `ovs:<ns>:bull`, none under the new prefix.
  const current = new Queue(type, { connection: redis, prefix: redisKeys(d.namespace).bullPrefix });
  const old = new Queue(type, { connection: redis, prefix: `ovs:${d.namespace}:bull` });
  try {
    await current.obliterate({ force: true });
    await old.add("task", {}, { jobId: id });
    expect(await redis.exists(`ovs:${d.namespace}:bull:${type}:${id}`)).toBe(1);

    const agent = await d.registerAgent("upgraded", [type]);
    const claimed = await eventually(
      async () =>
        (
          await d.api("POST", `/api/agents/${agent.id}/claim`, {
            token: agent.token,
            body: { max: 1, waitMs: 1_000 },
          })
        ).body.tasks[0],
      15_000,
      "the reconciler to re-queue the task under the new prefix",
    );
    expect(claimed).toMatchObject({ id, attempt: 1 });
    const metrics = (await d.api("GET", "/metrics", { token: null })).text;
    expect(metrics).toMatch(/overseer_reconcile_repairs_total\{kind="missing_dispatch"\} [1-9]/);
  } finally {
    await current.close();
    await old.close();
  }
}, 30_000);
