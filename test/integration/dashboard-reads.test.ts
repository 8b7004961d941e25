import { afterAll, beforeAll, expect, it } from "vitest";
import { eventually, startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { TOKENS } from "../helpers/test-env.ts";

let d: TestDaemon;
const viewer = { token: TOKENS.viewer };

beforeAll(async () => {
  d = await startTestDaemon();
});
afterAll(async () => {
  await d?.close();
});

it("an empty system answers honest empty results", async () => {
  const status = await d.api("GET", "/api/dashboard/agents/status", viewer);
  expect(status.status).toBe(200);
  expect(status.body).toMatchObject({ total: 0, byState: {}, agents: [] });
  const beats = await d.api("GET", "/api/dashboard/agents/heartbeat", viewer);
  expect(beats.body).toMatchObject({
    agents: [],
    stale: [],
    heartbeatIntervalMs: d.config.heartbeatIntervalMs,
  });
  const queue = await d.api("GET", "/api/dashboard/tasks/queue", viewer);
  expect(queue.body).toMatchObject({ totals: {}, queues: [] });
});

it("agents/status, agents/heartbeat and tasks/queue report what happened", async () => {
  const good = await d.registerAgent("good", ["dash.a"], { role: "writer" });
  const quiet = await d.registerAgent("quiet", ["dash.b"], { role: "checker" });
  quiet.silence();
  // good completes one task and fails one (retryable, so it is queued again with a delay).
  for (const outcome of ["complete", "fail"] as const) {
    await d.api("POST", "/api/tasks", { body: { type: "dash.a", payload: {}, maxAttempts: 5 } });
    const t = (
      await d.api("POST", `/api/agents/${good.id}/claim`, { token: good.token, body: { waitMs: 1_000 } })
    ).body.tasks[0];
    const body =
      outcome === "complete"
        ? { leaseToken: t.leaseToken }
        : { leaseToken: t.leaseToken, error: { message: "no" } };
    await d.api("POST", `/api/tasks/${t.id}/${outcome}`, { token: good.token, body });
  }
  await d.api("POST", "/api/tasks", { body: { type: "dash.b", payload: {} } });

  const beats = await eventually(
    async () => {
      const r = (await d.api("GET", "/api/dashboard/agents/heartbeat", viewer)).body;
      return r.stale.includes(quiet.id) ? r : null;
    },
    5_000,
    "the quiet agent to go stale",
  );
  expect(beats.agents[0].id).toBe(quiet.id);
  expect(beats.agents[0].heartbeatAgeMs).toBeGreaterThanOrEqual(d.config.agentStaleAfterMs);

  const status = (await d.api("GET", "/api/dashboard/agents/status", viewer)).body;
  const byId = Object.fromEntries(status.agents.map((a: { id: string }) => [a.id, a]));
  expect(byId[good.id]).toMatchObject({
    name: "good",
    role: "writer",
    state: "active",
    recent: { completed: 1, failed: 1 },
  });
  expect(byId[good.id].healthScore).toBeGreaterThan(0);
  expect(byId[good.id].healthScore).toBeLessThan(100);
  expect(byId[quiet.id].state).toBe("stale");
  expect(byId[quiet.id].healthScore).toBeLessThan(byId[good.id].healthScore);
  const writers = (await d.api("GET", "/api/dashboard/agents/status?role=writer", viewer)).body;
  expect(writers.agents.map((a: { id: string }) => a.id)).toEqual([good.id]);

  const queue = (await d.api("GET", "/api/dashboard/tasks/queue", viewer)).body;
  const row = (type: string) => queue.queues.filter((q: { type: string }) => q.type === type);
  expect(row("dash.b")).toEqual([expect.objectContaining({ state: "ready", count: 1 })]);
  expect(row("dash.b")[0].oldestAgeSeconds).toBeGreaterThanOrEqual(0);
  expect(row("dash.a").map((q: { state: string }) => q.state)).toEqual([
    expect.stringMatching(/^(ready|delayed)$/),
  ]);
  const filtered = (await d.api("GET", "/api/dashboard/tasks/queue?type=dash.b&state=ready", viewer)).body;
  expect(filtered.queues).toHaveLength(1);
  expect(filtered.totals).toEqual({ ready: 1 });
});

it("serves the OpenAPI document at /docs", async () => {
  const doc = await d.api("GET", "/docs/json", { token: null });
  expect(doc.status).toBe(200);
  expect(doc.body.openapi).toMatch(/^3\./);
  for (const path of [
    "/api/agents/register",
    "/api/agents/{id}/heartbeat",
    "/api/agents/{id}/claim",
    "/api/tasks",
    "/api/tasks/{id}/complete",
    "/api/dashboard/agents/status",
  ]) {
    expect(Object.keys(doc.body.paths)).toContain(path);
  }
  expect((await d.api("GET", "/docs", { token: null })).status).toBeLessThan(400);
});
