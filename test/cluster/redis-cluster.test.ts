import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisKeys } from "../../daemon/store/redis/redis-keys.ts";
import { eventually, startTestDaemon, type TestAgent, type TestDaemon } from "../helpers/daemon-harness.ts";
import { type RedisClusterHandle, startRedisCluster } from "../helpers/redis-cluster.ts";
import { openFeed } from "../ws/ws-client.ts";

/**
 * The daemon on a real 3-primary Redis Cluster (REDIS_CLUSTER_NODES): the task protocol, long-poll
 * wake-up through cluster pub/sub, the leader's dead-agent sweep, the feed stream and /metrics all
 * work, and every key of the namespace lives in the one slot of its `{ns}` hash tag.
 */
let cluster: RedisClusterHandle;
let d: TestDaemon;
/** A second replica of the same namespace: a submit there must wake a claim waiting on `d`. */
let d2: TestDaemon;
let client: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  // REDIS_URL points where nothing listens: everything must go through the cluster seeds.
  d = await startTestDaemon({ REDIS_CLUSTER_NODES: cluster.seeds, REDIS_URL: "redis://127.0.0.1:1" });
  d2 = await startTestDaemon(
    { REDIS_CLUSTER_NODES: cluster.seeds, REDIS_URL: "redis://127.0.0.1:1" },
    d.namespace,
  );
  client = new Cluster(cluster.nodes, { redisOptions: { maxRetriesPerRequest: 2 } });
  client.on("error", (error) => console.warn("test cluster client:", error));
}, 40_000);

afterAll(async () => {
  client?.disconnect();
  await d2?.close({ keepData: true });
  await d?.close();
  await cluster?.stop();
});

const claim = (agent: TestAgent, waitMs = 0) =>
  d.api("POST", `/api/agents/${agent.id}/claim`, { token: agent.token, body: { max: 1, waitMs } });
const complete = (agent: TestAgent, task: { id: string; leaseToken: string }) =>
  d.api("POST", `/api/tasks/${task.id}/complete`, {
    token: agent.token,
    body: { leaseToken: task.leaseToken, result: { ok: true } },
  });

describe("the daemon on a Redis Cluster", () => {
  it("runs the task protocol for two types; a long-poll claim wakes on a submit", async () => {
    const agent = await d.registerAgent("c1", ["clu.a", "clu.b"]);
    const hb = await d.api("POST", `/api/agents/${agent.id}/heartbeat`, { token: agent.token, body: {} });
    expect(hb.status).toBe(200);

    const a = await d.api("POST", "/api/tasks", { body: { type: "clu.a", payload: { n: 1 } } });
    expect(a.status).toBe(202);
    const first = (await claim(agent)).body.tasks[0];
    expect(first).toMatchObject({ id: a.body.id, type: "clu.a", payload: { n: 1 }, attempt: 1 });
    expect((await complete(agent, first)).status).toBe(200);

    // Nothing queued: the claim waits on replica d's ready channel (SUBSCRIBE on a cluster node)
    // until the PUBLISH of a submit made through replica d2, which the cluster relays to every node.
    // A waiting claim also re-checks once a second by itself, so the bound is well under that.
    const pending = claim(agent, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    const submittedAt = Date.now();
    const b = await d2.api("POST", "/api/tasks", { body: { type: "clu.b", payload: { n: 2 } } });
    const woken = (await pending).body.tasks[0];
    const wokenAfter = Date.now() - submittedAt;
    expect(woken).toMatchObject({ id: b.body.id, type: "clu.b" });
    expect(wokenAfter).toBeLessThan(600);
    expect((await complete(agent, woken)).status).toBe(200);
    const view = await d.api("GET", `/api/tasks/${b.body.id}`);
    expect(view.body).toMatchObject({ state: "completed", result: { ok: true } });
  });

  it("a silent agent goes dead and its task reaches another agent", async () => {
    const a = await d.registerAgent("c2", ["clu.dead"]);
    const b = await d.registerAgent("c2b", ["clu.dead"]);
    a.silence();
    const { id } = (await d.api("POST", "/api/tasks", { body: { type: "clu.dead", payload: {} } })).body;
    expect((await claim(a)).body.tasks[0]?.id).toBe(id);
    const reclaimed = await eventually(
      async () => (await claim(b, 500)).body.tasks[0],
      10_000,
      "the task to reach agent b",
    );
    expect(reclaimed).toMatchObject({ id, attempt: 2 });
    expect((await complete(b, reclaimed)).status).toBe(200);
    const view = (await d.api("GET", `/api/tasks/${id}`)).body;
    expect(view.attempts.map((x: { outcome: string }) => x.outcome)).toEqual(["lost", "completed"]);
  });

  it("delivers events over the WebSocket feed through the cluster's stream", async () => {
    const feed = await openFeed(d.url, "agents");
    try {
      await feed.next((m) => m.type === "snapshot", 10_000, "snapshot");
      const agent = await d.registerAgent("c3", ["clu.feed"]);
      const delta = await feed.next(
        (m) => m.type === "event" && m.event.type === "agent.registered" && m.event.agentId === agent.id,
        10_000,
        "the registration delta",
      );
      expect(delta.id).toMatch(/^\d+-\d+$/);
    } finally {
      feed.close();
    }
    expect(await client.xlen(redisKeys(d.namespace).feedStream)).toBeGreaterThan(0);
  });

  it("renders /metrics", async () => {
    const metrics = await d.api("GET", "/metrics", { token: null });
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/^overseer_tasks_submitted_total\{[^}]*\} [1-9]/m);
  });

  it("keeps every key of the namespace in the slot of its hash tag", async () => {
    const keys = redisKeys(d.namespace);
    const slot = (await client.cluster("KEYSLOT", `{${d.namespace}}`)) as number;
    const found: string[] = [];
    for (const node of client.nodes("master")) {
      let cursor = "0";
      for (let page = 0; page < 100; page++) {
        const [next, batch] = await node.scan(cursor, "MATCH", "ovs:*", "COUNT", 1000);
        found.push(...batch);
        cursor = next;
        if (cursor === "0") break;
      }
    }
    // The namespace's kinds of keys are all there: queues, liveness, feed, leader lease.
    for (const prefix of [
      `${keys.bullPrefix}:clu.a:`,
      keys.heartbeats,
      keys.agentStates,
      keys.feedStream,
      keys.leader,
    ]) {
      expect(
        found.some((k) => k.startsWith(prefix)),
        prefix,
      ).toBe(true);
    }
    const slots = new Set<number>();
    for (const key of found) slots.add((await client.cluster("KEYSLOT", key)) as number);
    expect([...slots]).toEqual([slot]);
  });
});
