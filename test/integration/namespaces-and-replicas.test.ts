import { afterAll, beforeAll, expect, it } from "vitest";
import { eventually, startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { freshNamespace, TOKENS } from "../helpers/test-env.ts";

let a: TestDaemon;
let b: TestDaemon;
let other: TestDaemon;

beforeAll(async () => {
  const shared = freshNamespace();
  [a, b, other] = await Promise.all([
    startTestDaemon({}, shared),
    startTestDaemon({}, shared),
    startTestDaemon(),
  ]);
});
afterAll(async () => {
  await b?.close({ keepData: true });
  await a?.close();
  await other?.close();
});

it("daemons in different namespaces on one Redis and Postgres do not see each other's data", async () => {
  const agent = await other.registerAgent("iso", ["ns.work"]);
  const { id } = (await a.api("POST", "/api/tasks", { body: { type: "ns.work", payload: {} } })).body;
  expect((await other.api("GET", `/api/tasks/${id}`)).status).toBe(404);
  const claim = await other.api("POST", `/api/agents/${agent.id}/claim`, {
    token: agent.token,
    body: { waitMs: 300 },
  });
  expect(claim.body.tasks).toEqual([]);
  // Agent tokens are bound to their namespace too.
  expect(
    (await a.api("POST", `/api/agents/${agent.id}/heartbeat`, { token: agent.token, body: {} })).status,
  ).toBe(401);
  const status = await other.api("GET", "/api/dashboard/tasks/queue", { token: TOKENS.viewer });
  expect(status.body.queues).toEqual([]);
});

it("two replicas of one namespace share agents and tasks; exactly one leads; a submit on one wakes a claim on the other", async () => {
  await eventually(
    async () => a.daemon.metrics.isLeader.get().then((m) => m.values.length > 0),
    5_000,
    "leader metric",
  );
  const leaders = await Promise.all(
    [a, b].map(async (r) => (await r.daemon.metrics.isLeader.get()).values[0]?.value ?? 0),
  );
  expect(leaders.sort()).toEqual([0, 1]);

  const agent = await a.registerAgent("roamer", ["rep.work"]);
  // Heartbeat and claim through replica b, submit through replica a.
  expect(
    (await b.api("POST", `/api/agents/${agent.id}/heartbeat`, { token: agent.token, body: {} })).status,
  ).toBe(200);
  const started = Date.now();
  const pending = b.api("POST", `/api/agents/${agent.id}/claim`, {
    token: agent.token,
    body: { waitMs: 5_000 },
  });
  await new Promise((r) => setTimeout(r, 200));
  const { id } = (await a.api("POST", "/api/tasks", { body: { type: "rep.work", payload: {} } })).body;
  const claimed = (await pending).body.tasks[0];
  expect(claimed.id).toBe(id);
  expect(Date.now() - started).toBeLessThan(1_500);
  expect(
    (
      await a.api("POST", `/api/tasks/${id}/complete`, {
        token: agent.token,
        body: { leaseToken: claimed.leaseToken },
      })
    ).status,
  ).toBe(200);
  expect((await b.api("GET", `/api/tasks/${id}`)).body.state).toBe("completed");
});
