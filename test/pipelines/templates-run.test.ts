import { afterAll, beforeAll, expect, it } from "vitest";
import type { Agent } from "../../sdk/agent.ts";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { runUntil, startPipelineAgents, stopAgents } from "./helpers.ts";

let d: TestDaemon;
let agents: Agent[] = [];

beforeAll(async () => {
  d = await startTestDaemon({ OVERSEER_PIPELINE_SWEEP_INTERVAL_MS: "200" });
  agents = await startPipelineAgents(d);
});
afterAll(async () => {
  await stopAgents(agents);
  await d?.close();
});

it("runs the built-in mission template to completion with a timeline, an artifact and events", async () => {
  const started = await d.api("POST", "/api/pipelines/mission/runs", {
    body: { input: { request: "summarize the incident report", budgetUsd: 5 } },
  });
  expect(started.status).toBe(202);
  const run = await runUntil(d, started.body.id, (r) => r.state === "completed", "the mission to complete");
  expect(run.percent).toBe(100);
  expect(run.steps.map((s: { id: string; state: string }) => [s.id, s.state])).toEqual([
    ["verification", "completed"],
    ["intent", "completed"],
    ["budget", "completed"],
    ["tool_selection", "completed"],
    ["tool_execution", "completed"],
    ["finalize", "completed"],
  ]);
  expect(run.steps[1].output).toMatchObject({ intent: "report", simulated: true });
  expect(run.steps[1].agentId).toEqual(expect.any(String));
  const types = run.events.map((e: { type: string }) => e.type);
  expect(types[0]).toBe("run.started");
  expect(types.at(-1)).toBe("run.completed");
  expect(types.filter((t: string) => t === "step.completed")).toHaveLength(6);
});

it("runs the story template, with the three implementation steps in parallel after the breakdown", async () => {
  const started = await d.api("POST", "/api/pipelines/story/runs", {
    body: { input: { story: "users can export their data" } },
  });
  const run = await runUntil(d, started.body.id, (r) => r.state === "completed", "the story to complete");
  const at = (id: string, field: "startedAt" | "finishedAt") =>
    Date.parse(run.steps.find((s: { id: string }) => s.id === id)[field]);
  for (const id of ["backend", "frontend", "tests"]) {
    expect(at(id, "startedAt")).toBeGreaterThanOrEqual(at("task_breakdown", "finishedAt"));
    expect(at("review", "startedAt")).toBeGreaterThanOrEqual(at(id, "finishedAt"));
  }
  expect(run.percent).toBe(100);
});

it("an unknown template is 404 and input that does not fit the template's parameters is 400, with nothing stored", async () => {
  const unknown = await d.api("POST", "/api/pipelines/nope/runs", { body: { input: {} } });
  expect(unknown.status).toBe(404);
  expect(unknown.body.error.code).toBe("OVS_ERR_TEMPLATE_NOT_FOUND");
  const missing = await d.api("POST", "/api/pipelines/mission/runs", { body: { input: { budgetUsd: 3 } } });
  expect(missing.status).toBe(400);
  expect(missing.body.error.message).toMatch(/input.request is required/);
  const list = await d.api("GET", "/api/pipelines/runs?template=mission&state=failed");
  expect(list.body.total).toBe(0);
});
