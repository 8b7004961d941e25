import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { eventually, startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { REDIS_URL } from "../helpers/test-env.ts";

// Redis can lose acknowledged writes on failover. Postgres is the system of record and the
// reconciler is level-triggered: whatever Redis forgot is rebuilt from Postgres.
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

async function wipeNamespaceKeys(): Promise<number> {
  let deleted = 0;
  for (const pattern of [`ovs:{${d.namespace}}:*`, `ovs:${d.namespace}:*`]) {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== "0");
  }
  return deleted;
}

it("rebuilds queues and the liveness mirror from Postgres after Redis loses everything", async () => {
  const agent = await d.registerAgent("survivor", ["loss.work"]);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++)
    ids.push((await d.api("POST", "/api/tasks", { body: { type: "loss.work", payload: { i } } })).body.id);

  // Everything Overseer keeps in Redis for this namespace disappears: queues, heartbeats, states.
  expect(await wipeNamespaceKeys()).toBeGreaterThan(0);

  // Heartbeats repair the agent's liveness entry from Postgres at once (no 404, no re-register).
  const beat = await d.api("POST", `/api/agents/${agent.id}/heartbeat`, { token: agent.token, body: {} });
  expect(beat.status).toBe(200);

  // The reconciler re-queues every queued task; the agent then gets all five, each once.
  const seen = new Set<string>();
  await eventually(
    async () => {
      const r = await d.api("POST", `/api/agents/${agent.id}/claim`, {
        token: agent.token,
        body: { max: 5, waitMs: 500 },
      });
      for (const t of r.body.tasks) {
        expect(seen.has(t.id)).toBe(false);
        seen.add(t.id);
        expect(
          (
            await d.api("POST", `/api/tasks/${t.id}/complete`, {
              token: agent.token,
              body: { leaseToken: t.leaseToken },
            })
          ).status,
        ).toBe(200);
      }
      return seen.size === ids.length;
    },
    15_000,
    "every task to be re-queued and completed",
  );
  expect([...seen].sort()).toEqual([...ids].sort());
  const metrics = (await d.api("GET", "/metrics", { token: null })).text;
  expect(metrics).toMatch(/overseer_reconcile_repairs_total\{kind="missing_dispatch"\} [1-9]/);
}, 30_000);

it("a silent agent whose liveness entry Redis lost is still declared dead and its lease revoked", async () => {
  const a = await d.registerAgent("forgotten", ["loss.lease"]);
  const b = await d.registerAgent("helper", ["loss.lease"]);
  const { id } = (await d.api("POST", "/api/tasks", { body: { type: "loss.lease", payload: {} } })).body;
  const t = (
    await d.api("POST", `/api/agents/${a.id}/claim`, { token: a.token, body: { max: 1, waitMs: 1_000 } })
  ).body.tasks[0];
  expect(t.id).toBe(id);
  a.silence();
  // Redis forgets agent a entirely (state, heartbeat, leases); b keeps heartbeating and repairs itself.
  await redis.hdel(`ovs:{${d.namespace}}:agents`, a.id);
  await redis.zrem(`ovs:{${d.namespace}}:hb`, a.id);
  const reclaimed = await eventually(
    async () =>
      (await d.api("POST", `/api/agents/${b.id}/claim`, { token: b.token, body: { max: 1, waitMs: 500 } }))
        .body.tasks[0],
    15_000,
    "the task to reach agent b",
  );
  expect(reclaimed).toMatchObject({ id, attempt: 2 });
}, 30_000);

it("a lease Redis never noted (daemon died before noting it) is released once the agent's heartbeats leave it out", async () => {
  const a = await d.registerAgent("unaware", ["loss.untracked"], { silent: true });
  const { id } = (await d.api("POST", "/api/tasks", { body: { type: "loss.untracked", payload: {} } })).body;
  const t = (
    await d.api("POST", `/api/agents/${a.id}/claim`, { token: a.token, body: { max: 1, waitMs: 1_000 } })
  ).body.tasks[0];
  expect(t.id).toBe(id);
  // As if the daemon died between committing the lease and noting it, and the agent never got the
  // answer: Postgres holds the lease, the Redis lease mirror does not, and the agent reports nothing.
  await redis.del(`ovs:{${d.namespace}}:leases:${a.id}`);
  const requeued = await eventually(
    async () => {
      await d.api("POST", `/api/agents/${a.id}/heartbeat`, { token: a.token, body: { activeTaskIds: [] } });
      const view = (await d.api("GET", `/api/tasks/${id}`)).body;
      return view.state === "queued" ? view : null;
    },
    15_000,
    "the untracked lease to be released",
  );
  expect(requeued.attempts.map((x: { outcome: string }) => x.outcome)).toEqual(["released"]);
  const metrics = (await d.api("GET", "/metrics", { token: null })).text;
  expect(metrics).toMatch(/overseer_reconcile_repairs_total\{kind="untracked_lease"\} [1-9]/);
}, 30_000);
