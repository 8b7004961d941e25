import { afterAll, beforeAll, expect, it } from "vitest";
import { eventually, startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { TOKENS } from "../helpers/test-env.ts";

// A template saved on one replica: its step events arriving at another replica still move runs.
let d1: TestDaemon;
let d2: TestDaemon;

beforeAll(async () => {
  d1 = await startTestDaemon({ OVERSEER_PIPELINE_SWEEP_INTERVAL_MS: "100" });
  d2 = await startTestDaemon({ OVERSEER_PIPELINE_SWEEP_INTERVAL_MS: "100" }, d1.namespace);
});
afterAll(async () => {
  await d2?.close({ keepData: true });
  await d1?.close();
});

it("progress and completion reported to the other replica reach the run", async () => {
  const template = {
    name: "cross-replica",
    steps: [
      { id: "one", name: "One", executor: { kind: "agent", capability: "xrep.one" } },
      { id: "two", name: "Two", executor: { kind: "agent", capability: "xrep.two" }, dependsOn: ["one"] },
    ],
  };
  expect((await d1.api("PUT", "/api/pipelines/templates/cross-replica", { body: template })).status).toBe(
    201,
  );
  const agent = await d2.registerAgent("worker", ["xrep.one", "xrep.two"]);
  const { id } = (await d1.api("POST", "/api/pipelines/cross-replica/runs", { body: {} })).body;
  const lease = (
    await d2.api("POST", `/api/agents/${agent.id}/claim`, { token: agent.token, body: { waitMs: 3_000 } })
  ).body.tasks[0];
  expect(lease.payload.pipeline.stepId).toBe("one");
  // d2 learns of the new template's capabilities within its refresh period (5 s).
  await eventually(
    async () => {
      await d2.api("POST", `/api/tasks/${lease.id}/progress`, {
        token: agent.token,
        body: { leaseToken: lease.leaseToken, percent: 60, message: "over there" },
      });
      const run = (await d1.api("GET", `/api/pipelines/runs/${id}`, { token: TOKENS.viewer })).body;
      return run.steps[0].progress === 60 && run.currentStep?.message === "over there";
    },
    10_000,
    "progress sent to d2 to show on the run",
  );
  const done = await d2.api("POST", `/api/tasks/${lease.id}/complete`, {
    token: agent.token,
    body: { leaseToken: lease.leaseToken, result: { ok: true } },
  });
  expect(done.status).toBe(200);
  const next = (
    await d2.api("POST", `/api/agents/${agent.id}/claim`, { token: agent.token, body: { waitMs: 3_000 } })
  ).body.tasks[0];
  expect(next.payload.pipeline.stepId).toBe("two");
  expect(next.payload.upstream).toEqual({ one: { ok: true } });
  agent.silence();
}, 30_000);
