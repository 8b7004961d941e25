import { afterAll, beforeAll, expect, it } from "vitest";
import { eventually, startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { TOKENS } from "../helpers/test-env.ts";

// Two replicas: the template is saved through b, the step's task is completed through a, whose
// cache of pipeline capabilities is up to 5 s old and so ignores the task's event. The leader's
// pipeline sweep must record the step anyway — for a paused run too (found by the replica suites:
// a paused run's finished step stayed "running" until the run was resumed).
let a: TestDaemon;
let b: TestDaemon;
beforeAll(async () => {
  a = await startTestDaemon({ OVERSEER_PIPELINE_SWEEP_INTERVAL_MS: "200" });
  b = await startTestDaemon({ OVERSEER_PIPELINE_SWEEP_INTERVAL_MS: "200" }, a.namespace);
});
afterAll(async () => {
  await b?.close({ keepData: true });
  await a?.close();
});

for (const [label, pause] of [
  ["running", false],
  ["paused", true],
] as const) {
  it(`a step completed through the other replica is recorded (run ${label})`, async () => {
    const name = `cross-${label}`;
    const cap = `cross.${label}`;
    const steps = [
      { id: "one", name: "One", executor: { kind: "agent", capability: cap } },
      { id: "two", name: "Two", executor: { kind: "agent", capability: cap }, dependsOn: ["one"] },
    ];
    expect((await b.api("PUT", `/api/pipelines/templates/${name}`, { body: { name, steps } })).status).toBe(
      201,
    );
    const agent = await a.registerAgent(`w-${label}`, [cap]);
    const { id } = (await b.api("POST", `/api/pipelines/${name}/runs`, { body: {} })).body;
    const claim = await a.api("POST", `/api/agents/${agent.id}/claim`, {
      token: agent.token,
      body: { waitMs: 3_000 },
    });
    const lease = claim.body.tasks[0];
    if (pause)
      expect((await b.api("POST", `/api/pipelines/runs/${id}/pause`, { body: {} })).status).toBe(200);
    const done = await a.api("POST", `/api/tasks/${lease.id}/complete`, {
      token: agent.token,
      body: { leaseToken: lease.leaseToken, result: { ok: true } },
    });
    expect(done.status).toBe(200);
    const run = await eventually(
      async () => {
        const r = (await b.api("GET", `/api/pipelines/runs/${id}`, { token: TOKENS.viewer })).body;
        return r.steps[0].state === "completed" ? r : null;
      },
      5_000,
      "step one recorded as completed",
    );
    // A paused run records the step but starts nothing new.
    expect(run.state).toBe(pause ? "paused" : "running");
    if (pause) expect(run.steps[1].state).toBe("pending");
    agent.silence();
  });
}
