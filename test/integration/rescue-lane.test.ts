import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startTestDaemon, type TestAgent, type TestDaemon } from "../helpers/daemon-harness.ts";
import { REDIS_URL } from "../helpers/test-env.ts";

// Rescue goes first (docs/architecture.md "Dispatch order"): a task whose lease was revoked goes
// ahead of the tasks of its priority queued after it, behind those of higher priority, and keeps
// that place when the reconciler rebuilds its dispatch entry from Postgres.
let d: TestDaemon;
let redis: Redis;

beforeAll(async () => {
  d = await startTestDaemon({ OVERSEER_RECONCILE_INTERVAL_MS: "500" });
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  redis?.disconnect();
  await d?.close();
});

const submit = async (type: string, priority = 0): Promise<string> => {
  const r = await d.api("POST", "/api/tasks", { body: { type, payload: {}, priority } });
  expect(r.status).toBe(202);
  return r.body.id;
};
const claim = async (agent: TestAgent, max: number): Promise<Array<{ id: string; leaseToken: string }>> =>
  (await d.api("POST", `/api/agents/${agent.id}/claim`, { token: agent.token, body: { max, waitMs: 0 } }))
    .body.tasks;
const release = async (agent: TestAgent, id: string, leaseToken: string): Promise<void> => {
  const r = await d.api("POST", `/api/tasks/${id}/release`, { token: agent.token, body: { leaseToken } });
  expect(r.status).toBe(200);
};

describe("the rescue lane", () => {
  it("a released task goes ahead of newer tasks of its priority, behind a task of higher priority", async () => {
    const a = await d.registerAgent("rescue-1", ["rescue.order"], { concurrency: 10 });
    const held = await submit("rescue.order");
    const [lease] = await claim(a, 1);
    expect(lease?.id).toBe(held);
    const newer1 = await submit("rescue.order");
    const higher = await submit("rescue.order", 5);
    const newer2 = await submit("rescue.order");
    await release(a, held, lease!.leaseToken);
    expect((await claim(a, 4)).map((t) => t.id)).toEqual([higher, held, newer1, newer2]);
  });

  it("keeps its lane when the reconciler rebuilds the dispatch entry from Postgres", async () => {
    const a = await d.registerAgent("rescue-2", ["rescue.rebuild"], { concurrency: 10 });
    const held = await submit("rescue.rebuild");
    const [lease] = await claim(a, 1);
    expect(lease?.id).toBe(held);
    const newer = await submit("rescue.rebuild");
    await release(a, held, lease!.leaseToken);

    // Redis forgets every queue: the reconciler re-adds the queued tasks oldest update first (the
    // newer task before the released one), so only the lane can put the released one first.
    const keys = await redis.keys(`ovs:{${d.namespace}}:bull:rescue.rebuild:*`);
    expect(keys.length).toBeGreaterThan(0);
    await redis.del(...keys);
    const got = await eventually(
      async () => {
        const present = await redis.exists(
          `ovs:{${d.namespace}}:bull:rescue.rebuild:${held}`,
          `ovs:{${d.namespace}}:bull:rescue.rebuild:${newer}`,
        );
        return present === 2 ? claim(a, 2) : null;
      },
      20_000,
      "the reconciler to re-queue both tasks",
    );
    expect(got.map((t) => t.id)).toEqual([held, newer]);
  });
});
