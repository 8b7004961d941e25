import { afterAll, beforeAll, expect, it } from "vitest";
import type { Agent } from "../../sdk/agent.ts";
import type { TaskHandler } from "../../sdk/task-run.ts";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { TOKENS } from "../helpers/test-env.ts";
import { runUntil, startPipelineAgents, stopAgents } from "./helpers.ts";

let d: TestDaemon;
let agents: Agent[] = [];
const viewer = { token: TOKENS.viewer };
let blockedAborted: Promise<string>;

beforeAll(async () => {
  d = await startTestDaemon({ OVERSEER_PIPELINE_SWEEP_INTERVAL_MS: "200" });
  let aborted!: (reason: string) => void;
  blockedAborted = new Promise((r) => {
    aborted = r;
  });
  // tool_execution waits until it is cancelled when the request says "converse".
  const runTool: TaskHandler = async (ctx) => {
    const input = (ctx.payload as { input: { request: string } }).input;
    if (!input.request.includes("converse")) return { result: "done", simulated: true };
    await new Promise<void>((resolve) =>
      ctx.signal.addEventListener("abort", () => resolve(), { once: true }),
    );
    aborted(String(ctx.signal.reason?.message ?? ctx.signal.reason));
    throw ctx.signal.reason;
  };
  agents = await startPipelineAgents(d, { overrides: { "mission.run-tool": runTool } });
});
afterAll(async () => {
  await stopAgents(agents);
  await d?.close();
});

it("artifacts: the finalize step writes one; agents and operators add more; viewers read them", async () => {
  const { id } = (
    await d.api("POST", "/api/pipelines/mission/runs", { body: { input: { request: "find docs" } } })
  ).body;
  await runUntil(d, id, (r) => r.state === "completed", "the run to complete");
  const added = await d.api("POST", `/api/pipelines/runs/${id}/artifacts`, {
    body: {
      stepId: "tool_execution",
      type: "text/markdown",
      title: "notes",
      content: "# Notes",
      metadata: { a: 1 },
    },
  });
  expect(added.status).toBe(201);
  expect(added.body).toMatchObject({ stepId: "tool_execution", createdBy: "operator", bytes: 7 });
  const list = (await d.api("GET", `/api/pipelines/runs/${id}/artifacts`, viewer)).body.artifacts;
  expect(list.map((a: { stepId: string }) => a.stepId)).toEqual(["finalize", "tool_execution"]);
  const finalized = (await d.api("GET", `/api/artifacts/${list[0].id}`, viewer)).body;
  expect(JSON.parse(finalized.content).outputs.intent).toMatchObject({ intent: "search" });
  expect((await d.api("GET", `/api/artifacts/${added.body.id}`, viewer)).body.content).toBe("# Notes");

  const bad = await d.api("POST", `/api/pipelines/runs/${id}/artifacts`, {
    body: { stepId: "nope", type: "t", title: "x", content: "" },
  });
  expect(bad.body.error.code).toBe("OVS_ERR_STEP_NOT_FOUND");
  const missingRun = await d.api(
    "POST",
    "/api/pipelines/runs/00000000-0000-4000-8000-000000000000/artifacts",
    {
      body: { type: "t", title: "x", content: "" },
    },
  );
  expect(missingRun.status).toBe(404);
  expect((await d.api("GET", "/api/artifacts/00000000-0000-4000-8000-000000000000", viewer)).status).toBe(
    404,
  );
  expect((await d.api("POST", `/api/pipelines/runs/${id}/artifacts`, { body: { title: "x" } })).status).toBe(
    400,
  );
});

it("a conversation that completes its step: the step completes once, the agent's handler is cancelled", async () => {
  const { id } = (
    await d.api("POST", "/api/pipelines/mission/runs", {
      body: { input: { request: "converse with a human" } },
    })
  ).body;
  await runUntil(d, id, (r) => r.currentStep?.id === "tool_execution", "the tool step to start");
  const conv = await d.api("POST", `/api/pipelines/runs/${id}/conversations`, {
    body: { stepId: "tool_execution", title: "clarify the tool", completesStep: true },
  });
  expect(conv.status).toBe(201);
  const cid = conv.body.id;
  for (const [role, content] of [
    ["assistant", "Which format?"],
    ["user", "Markdown."],
  ]) {
    expect(
      (await d.api("POST", `/api/conversations/${cid}/messages`, { body: { role, content } })).status,
    ).toBe(201);
  }
  const done = await d.api("POST", `/api/conversations/${cid}/complete`, {
    body: { summary: "use markdown" },
  });
  expect(done.status).toBe(200);
  expect(done.body).toMatchObject({ state: "completed", summary: "use markdown" });
  expect(done.body.messages.map((m: { role: string }) => m.role)).toEqual(["assistant", "user"]);
  expect(await blockedAborted).toMatch(/completed by its conversation/);

  const run = await runUntil(d, id, (r) => r.state === "completed", "the run to complete");
  const step = run.steps.find((s: { id: string }) => s.id === "tool_execution");
  expect(step.output).toMatchObject({ conversationId: cid, summary: "use markdown", messages: 2 });
  expect(
    run.events.filter(
      (e: { type: string; stepId: string }) => e.type === "step.completed" && e.stepId === "tool_execution",
    ),
  ).toHaveLength(1);
  const task = (await d.api("GET", `/api/tasks/${step.taskId}`)).body;
  expect(task.state).toBe("cancelled");

  const late = await d.api("POST", `/api/conversations/${cid}/messages`, {
    body: { role: "user", content: "more" },
  });
  expect(late.status).toBe(409);
  expect(late.body.error.code).toBe("OVS_ERR_CONVERSATION_CLOSED");
  const listed = (await d.api("GET", `/api/pipelines/runs/${id}/conversations`, viewer)).body.conversations;
  expect(listed).toEqual([expect.objectContaining({ id: cid, state: "completed", messages: 2 })]);
  expect((await d.api("GET", "/api/conversations/00000000-0000-4000-8000-000000000000", viewer)).status).toBe(
    404,
  );
});

it("workflow reads: history, details, statistics, performance and the pending queue come from the runs", async () => {
  const empty = (await d.api("GET", "/api/workflow/statistics?template=story", viewer)).body;
  expect(empty).toEqual({ templates: [] });

  // One run waits (paused at once), with a higher priority and escalated: first in the queue.
  const waiting = (
    await d.api("POST", "/api/pipelines/mission/runs", {
      body: { input: { request: "converse later" }, priority: 5 },
    })
  ).body.id;
  await d.api("POST", `/api/pipelines/runs/${waiting}/pause`, { body: { reason: "hold" } });
  await d.api("POST", `/api/pipelines/runs/${waiting}/escalate`, { body: {} });

  const history = (await d.api("GET", "/api/workflow/history?template=mission", viewer)).body;
  expect(history.total).toBe(2);
  expect(
    history.runs.every(
      (r: { state: string; durationMs: number }) => r.state === "completed" && r.durationMs > 0,
    ),
  ).toBe(true);

  const stats = (await d.api("GET", "/api/workflow/statistics", viewer)).body.templates;
  expect(stats).toEqual([
    expect.objectContaining({
      template: "mission",
      total: 3,
      successRate: 1,
      byState: expect.objectContaining({ completed: 2, paused: 1 }),
    }),
  ]);
  expect(stats[0].p95DurationMs).toBeGreaterThanOrEqual(stats[0].avgDurationMs * 0.5);

  const perf = (await d.api("GET", "/api/workflow/performance-metrics?template=mission", viewer)).body
    .templates[0];
  expect(perf.template).toBe("mission");
  expect(perf.steps.map((s: { stepId: string }) => s.stepId)).toContain("tool_execution");
  expect(perf.bottleneckStep).toEqual(expect.any(String));

  const pending = (await d.api("GET", "/api/workflow/pending", viewer)).body.runs;
  expect(pending[0]).toMatchObject({ id: waiting, escalated: true, priority: 105, state: "paused" });

  const details = (await d.api("GET", `/api/workflow/${waiting}/details`, viewer)).body;
  expect(details.run.id).toBe(waiting);
  expect(details.audit.map((a: { action: string }) => a.action)).toEqual(["run.pause", "run.escalate"]);
  expect(
    (await d.api("GET", "/api/workflow/00000000-0000-4000-8000-000000000000/details", viewer)).status,
  ).toBe(404);
  expect((await d.api("GET", "/api/workflow/history?limit=abc", viewer)).status).toBe(400);

  const metrics = (await d.api("GET", "/metrics", { token: null })).text;
  expect(metrics).toMatch(/overseer_pipeline_runs\{template="mission",state="paused"\} 1/);
  expect(metrics).toMatch(/overseer_pipeline_runs_finished_total\{template="mission",state="completed"\} 2/);
  expect(metrics).toMatch(/overseer_operator_actions_total\{action="run.escalate"\} 1/);
  await d.api("POST", `/api/pipelines/runs/${waiting}/cancel`, { body: { reason: "test over" } });
});

it("an agent writes artifacts and conversations only for a step whose task it holds", async () => {
  const template = {
    name: "own-steps",
    steps: [{ id: "work", name: "Work", executor: { kind: "agent", capability: "own.step" } }],
  };
  expect((await d.api("PUT", "/api/pipelines/templates/own-steps", { body: template })).status).toBe(201);
  const holder = await d.registerAgent("holder", ["own.step"]);
  const other = await d.registerAgent("other", ["own.step"]);
  const { id } = (await d.api("POST", "/api/pipelines/own-steps/runs", { body: {} })).body;
  const lease = (
    await d.api("POST", `/api/agents/${holder.id}/claim`, { token: holder.token, body: { waitMs: 2_000 } })
  ).body.tasks[0];
  expect(lease.payload.pipeline).toMatchObject({ runId: id, stepId: "work" });
  const artifact = { stepId: "work", type: "text/plain", title: "t", content: "c" };

  const mine = await d.api("POST", `/api/pipelines/runs/${id}/artifacts`, {
    token: holder.token,
    body: artifact,
  });
  expect(mine.status).toBe(201);
  expect(mine.body.createdBy).toBe(`agent:${holder.id}`);
  const theirs = await d.api("POST", `/api/pipelines/runs/${id}/artifacts`, {
    token: other.token,
    body: artifact,
  });
  expect(theirs.status).toBe(403);
  const noStep = await d.api("POST", `/api/pipelines/runs/${id}/artifacts`, {
    token: holder.token,
    body: { type: "t", title: "t", content: "c" },
  });
  expect(noStep.status).toBe(403);

  const conv = await d.api("POST", `/api/pipelines/runs/${id}/conversations`, {
    token: holder.token,
    body: { stepId: "work", title: "mine", completesStep: true },
  });
  expect(conv.status).toBe(201);
  const intrude = await d.api("POST", `/api/conversations/${conv.body.id}/messages`, {
    token: other.token,
    body: { role: "user", content: "hi" },
  });
  expect(intrude.status).toBe(403);
  expect(
    (await d.api("POST", `/api/conversations/${conv.body.id}/complete`, { token: other.token, body: {} }))
      .status,
  ).toBe(403);
  // The holder completes its own step through the conversation; its lease is then revoked.
  expect(
    (await d.api("POST", `/api/conversations/${conv.body.id}/complete`, { token: holder.token, body: {} }))
      .status,
  ).toBe(200);
  await runUntil(d, id, (r) => r.state === "completed", "the run to complete through its conversation");
  const late = await d.api("POST", `/api/tasks/${lease.id}/complete`, {
    token: holder.token,
    body: { leaseToken: lease.leaseToken },
  });
  expect(late.status).toBe(409);
  holder.silence();
  other.silence();
});
