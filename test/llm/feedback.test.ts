import { randomUUID } from "node:crypto";
import type pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { TOKENS } from "../helpers/test-env.ts";

let d: TestDaemon;
let db: pg.Client;
const runId = randomUUID();
const callId = randomUUID();

beforeAll(async () => {
  d = await startTestDaemon();
  db = await namespaceDb(d.namespace);
  await db.query(
    `INSERT INTO pipeline_runs (id, template, template_version, input, state) VALUES ($1, 'mission', 1, '{}', 'completed')`,
    [runId],
  );
  await db.query(
    `INSERT INTO pipeline_steps (run_id, step_id, position, state) VALUES ($1, 'intent', 1, 'completed')`,
    [runId],
  );
  await db.query(
    `INSERT INTO llm_calls (id, agent_id, role, provider, model, source, input_tokens, output_tokens, tokens_counted,
       cost_usd, priced, latency_ms, status) VALUES ($1, $2, 'writer', 'openai', 'm', 'openai', 1, 1, false, 0, true, 1, 'ok')`,
    [callId, randomUUID()],
  );
});
afterAll(async () => {
  await db?.end();
  await d?.close();
});

it("rates a run, a step and a call; lists them; counts them in metrics and KPIs", async () => {
  const post = (body: unknown) => d.api("POST", "/api/feedback", { body });
  const run = await post({ runId, score: 5, comment: "great run" });
  expect(run.status).toBe(201);
  expect(run.body).toMatchObject({
    target: { kind: "run", runId },
    score: 5,
    comment: "great run",
    author: "operator",
  });
  expect((await post({ runId, stepId: "intent", score: 2 })).body.target).toEqual({
    kind: "step",
    runId,
    stepId: "intent",
  });
  expect((await post({ callId, score: 4 })).body.target).toEqual({ kind: "llm_call", callId });

  const forRun = await d.api("GET", `/api/feedback?runId=${runId}`, { token: TOKENS.viewer });
  expect(forRun.body.feedback.map((f: { score: number }) => f.score).sort()).toEqual([2, 5]);
  const forCall = await d.api("GET", `/api/feedback?callId=${callId}&limit=10`, { token: TOKENS.viewer });
  expect(forCall.body.feedback).toHaveLength(1);

  const kpis = await d.api("GET", "/api/analytics/kpis?range=7days", { token: TOKENS.viewer });
  expect(kpis.body.current).toMatchObject({ feedbackCount: 3, feedbackAvgScore: 3.667 });
  const text = (await d.api("GET", "/metrics", { token: null })).text;
  expect(text).toMatch(/overseer_feedback_total\{target="run",score="5"\} 1/);
});

it("refuses bad feedback with a clear 4xx and writes nothing", async () => {
  const before = (await db.query("SELECT count(*)::int AS n FROM feedback")).rows[0].n;
  const cases: Array<[unknown, number, string]> = [
    [{ runId, score: 6 }, 400, "OVS_ERR_VALIDATION"],
    [{ runId, score: 0 }, 400, "OVS_ERR_VALIDATION"],
    [{ runId, score: 2.5 }, 400, "OVS_ERR_VALIDATION"],
    [{ runId }, 400, "OVS_ERR_VALIDATION"],
    [{ score: 3 }, 400, "OVS_ERR_VALIDATION"],
    [{ stepId: "intent", score: 3 }, 400, "OVS_ERR_VALIDATION"],
    [{ runId, callId, score: 3 }, 400, "OVS_ERR_VALIDATION"],
    [{ runId: "nope", score: 3 }, 400, "OVS_ERR_VALIDATION"],
    [{ runId, score: 3, comment: "x".repeat(4001) }, 400, "OVS_ERR_VALIDATION"],
    [{ runId, score: 3, extra: 1 }, 400, "OVS_ERR_VALIDATION"],
    [{ runId: randomUUID(), score: 3 }, 404, "OVS_ERR_FEEDBACK_TARGET_NOT_FOUND"],
    [{ runId, stepId: "no_such_step", score: 3 }, 404, "OVS_ERR_FEEDBACK_TARGET_NOT_FOUND"],
    [{ callId: randomUUID(), score: 3 }, 404, "OVS_ERR_FEEDBACK_TARGET_NOT_FOUND"],
  ];
  for (const [body, status, code] of cases) {
    const r = await d.api("POST", "/api/feedback", { body });
    expect([JSON.stringify(body).slice(0, 60), r.status, r.body?.error?.code]).toEqual([
      JSON.stringify(body).slice(0, 60),
      status,
      code,
    ]);
  }
  expect(
    (await d.api("POST", "/api/feedback", { token: TOKENS.viewer, body: { runId, score: 3 } })).status,
  ).toBe(403);
  for (const q of ["runId=x", "limit=0", "limit=1001", "limit=abc", "other=1"]) {
    const r = await d.api("GET", `/api/feedback?${q}`, { token: TOKENS.viewer });
    expect([q, r.status]).toEqual([q, 400]);
  }
  expect((await db.query("SELECT count(*)::int AS n FROM feedback")).rows[0].n).toBe(before);
});
