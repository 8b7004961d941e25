import { randomUUID } from "node:crypto";
import type pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PIPELINE_ROLES } from "../../demo/pipeline-agents.ts";
import { LlmClient } from "../../sdk/llm/llm-client.ts";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { TOKENS } from "../helpers/test-env.ts";
import { runUntil, startPipelineAgents, stopAgents } from "../pipelines/helpers.ts";

// A story run through the demo fleet's own handlers, with the SDK's LLM client (offline provider,
// priced here so cost is non-zero): every role's calls land on the right run, step and conversation.
const PRICING = { offline: { inputPerMTok: 3, outputPerMTok: 15 } };

let d: TestDaemon;
let db: pg.Client;
let agents: Awaited<ReturnType<typeof startPipelineAgents>>;

beforeAll(async () => {
  d = await startTestDaemon({ OVERSEER_LLM_PRICING: JSON.stringify(PRICING) });
  db = await namespaceDb(d.namespace);
  agents = await startPipelineAgents(d, {
    workMs: 10,
    llm: new LlmClient({ provider: "offline", model: "offline" }),
  });
});
afterAll(async () => {
  await stopAgents(agents ?? []);
  await db?.end();
  await d?.close();
});

it("a story run records every role's calls against its step, and the reviewer's in its conversation", async () => {
  const started = await d.api("POST", "/api/pipelines/story/runs", {
    body: { input: { story: "users can export their data" } },
  });
  expect(started.status).toBe(202);
  const id = started.body.id as string;
  await runUntil(d, id, (r) => r.state === "completed", "the story run to complete");
  // Agents' recorders deliver each step's records before reporting it.
  const calls = await db.query<{
    step_id: string;
    role: string;
    conversation_id: string | null;
    input_tokens: number;
    output_tokens: number;
    cost: string;
    source: string;
    prompt: unknown;
  }>(
    `SELECT step_id, role, conversation_id, input_tokens, output_tokens, cost_usd::text AS cost, source, prompt
     FROM llm_calls WHERE run_id = $1 ORDER BY at`,
    [id],
  );
  const capabilityRole = new Map(PIPELINE_ROLES.flatMap((r) => r.capabilities.map((c) => [c, r.role])));
  const steps = (await d.api("GET", `/api/pipelines/runs/${id}`, { token: TOKENS.viewer })).body
    .steps as Array<{
    id: string;
  }>;
  const template = (await d.api("GET", "/api/pipelines/templates/story", { token: TOKENS.viewer })).body;
  const stepRole = new Map<string, string>(
    template.definition.steps.map((s: { id: string; executor: { capability: string } }) => [
      s.id,
      capabilityRole.get(s.executor.capability),
    ]),
  );
  // One call per step, two for the review (a two-turn conversation).
  const perStep = new Map<string, number>();
  for (const c of calls.rows) perStep.set(c.step_id, (perStep.get(c.step_id) ?? 0) + 1);
  expect(Object.fromEntries(perStep)).toEqual(
    Object.fromEntries(steps.map((s) => [s.id, s.id === "review" ? 2 : 1])),
  );
  for (const c of calls.rows) {
    expect(c.role).toBe(stepRole.get(c.step_id));
    expect(c.source).toBe("offline");
    expect(Array.isArray(c.prompt)).toBe(true);
    // Cost from the configured price: 3 and 15 USD per million tokens.
    expect(Number(c.cost)).toBeCloseTo((c.input_tokens * 3 + c.output_tokens * 15) / 1e6, 8);
  }
  // Every one of the six story roles called the model.
  expect(new Set(calls.rows.map((c) => c.role))).toEqual(
    new Set(["pm", "architect", "developer", "frontend", "tester", "reviewer"]),
  );
  // The review's calls belong to the reviewer's conversation, and only they do.
  const conversations = (
    await d.api("GET", `/api/pipelines/runs/${id}/conversations`, { token: TOKENS.viewer })
  ).body.conversations as Array<{ id: string; stepId: string; state: string }>;
  expect(conversations).toHaveLength(1);
  expect(conversations[0]).toMatchObject({ stepId: "review", state: "completed" });
  const inConversation = calls.rows.filter((c) => c.conversation_id !== null);
  expect(inConversation.map((c) => [c.step_id, c.conversation_id])).toEqual([
    ["review", conversations[0]?.id],
    ["review", conversations[0]?.id],
  ]);

  console.log(
    `llm-acceptance-2: story run ${id}: ${calls.rows.length} calls, ${[...perStep].map(([k, v]) => `${k}=${v}`).join(" ")}; review conversation ${conversations[0]?.id}; cost ${calls.rows.reduce((s, c) => s + Number(c.cost), 0).toFixed(8)} USD`,
  );
  // A call naming a conversation that is not the run's is kept (its cost counts), without it.
  const review = await db.query<{ task_id: string }>(
    "SELECT task_id FROM pipeline_steps WHERE run_id = $1 AND step_id = 'review'",
    [id],
  );
  const reviewer = agents[PIPELINE_ROLES.findIndex((r) => r.role === "reviewer")];
  const strayId = reviewer?.llmCalls?.record({
    provider: "offline",
    model: "offline",
    source: "offline",
    usage: { inputTokens: 10, outputTokens: 10, counted: true },
    latencyMs: 1,
    status: "ok",
    taskId: review.rows[0]?.task_id,
    runId: id,
    stepId: "review",
    conversationId: randomUUID(),
  });
  expect(await reviewer?.llmCalls?.flush({ timeoutMs: 5_000 })).toBe(true);
  const stray = await db.query("SELECT conversation_id, step_id FROM llm_calls WHERE id = $1", [strayId]);
  expect(stray.rows).toEqual([{ conversation_id: null, step_id: "review" }]);
  await db.query("DELETE FROM llm_calls WHERE id = $1", [strayId]);

  // The cost endpoints agree with the rows: by phase (step) for this template.
  const phase = await d.api("GET", "/api/metrics/costs/breakdown/phase?template=story", {
    token: TOKENS.viewer,
  });
  expect(phase.status).toBe(200);
  const total = calls.rows.reduce((sum, c) => sum + Number(c.cost), 0);
  const phases = phase.body.steps as Array<{ stepId: string; totalUsd: number; calls: number }>;
  expect(phases.map((p) => p.stepId).sort()).toEqual(steps.map((s) => s.id).sort());
  expect(phases.reduce((s, p) => s + p.totalUsd, 0)).toBeCloseTo(total, 8);
  expect(phases.find((p) => p.stepId === "review")?.calls).toBe(2);
});
