import { randomUUID } from "node:crypto";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestAgent, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { TOKENS } from "../helpers/test-env.ts";

// USD per million tokens: c1 costs 1000 × 2.5 / 1e6 + 200 × 10 / 1e6 = 0.0045.
const PRICING = { "test-gpt": { inputPerMTok: 2.5, outputPerMTok: 10 } };
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let d: TestDaemon;
let db: pg.Client;
let writer: TestAgent;
const now = Date.now();
// UTC midnight three days ago: every call of the main data set falls in [T0, T0 + 2 days).
const T0 = Math.floor((now - 3 * DAY) / DAY) * DAY;
const iso = (ms: number) => new Date(ms).toISOString();
const from = iso(T0);
const to = iso(T0 + 2 * DAY);

const get = (path: string, token: string | null = TOKENS.viewer) => d.api("GET", path, { token });

beforeAll(async () => {
  d = await startTestDaemon({ OVERSEER_LLM_PRICING: JSON.stringify(PRICING) });
  db = await namespaceDb(d.namespace);
});
afterAll(async () => {
  await db?.end();
  await d?.close();
});

describe("an empty system", () => {
  it("answers zeros, empty arrays and nulls", async () => {
    const costs = await get("/api/metrics/costs");
    expect(costs.status).toBe(200);
    expect(costs.body).toMatchObject({
      totalUsd: 0,
      calls: 0,
      inputTokens: 0,
      outputTokens: 0,
      unpricedCalls: 0,
      byRole: [],
    });
    // Default window: the last 30 days, ending now.
    const span = Date.parse(costs.body.to) - Date.parse(costs.body.from);
    expect(span).toBe(30 * DAY);
    expect(Math.abs(Date.parse(costs.body.to) - Date.now())).toBeLessThan(60_000);

    expect((await get("/api/metrics/costs/breakdown/phase")).body).toMatchObject({
      template: null,
      steps: [],
    });
    expect((await get("/api/metrics/costs/breakdown/model")).body).toMatchObject({ models: [] });
    expect((await get("/api/metrics/costs/history")).body).toMatchObject({ bucket: "day", buckets: [] });
    expect((await get("/api/metrics/usage")).body).toMatchObject({
      calls: 0,
      errors: 0,
      tokens: { input: 0, output: 0, total: 0, estimated: 0 },
      latencyMs: { avg: null, p95: null },
      ttftMs: { avg: null, p95: null },
      errorsByType: [],
      byModel: [],
    });

    const kpis = await get("/api/analytics/kpis?range=7days");
    expect(kpis.status).toBe(200);
    const zero = {
      tasksCompleted: 0,
      tasksFailed: 0,
      taskSuccessRate: null,
      runsCompleted: 0,
      runsFailed: 0,
      runSuccessRate: null,
      costUsd: 0,
      inputTokens: 0,
      outputTokens: 0,
      totalTokens: 0,
      avgTaskDurationMs: null,
      avgRunDurationMs: null,
      feedbackCount: 0,
      feedbackAvgScore: null,
    };
    expect(kpis.body.current).toEqual({ ...zero, tasksActive: 0, runsActive: 0 });
    expect(kpis.body.previous).toMatchObject({ ...zero, tasksActive: null, runsActive: null });
    expect(kpis.body.change.tasksCompleted).toEqual({ absolute: 0, relative: null });
    expect(kpis.body.change.taskSuccessRate).toEqual({ absolute: null, relative: null });
    expect(kpis.body.budget).toBeNull();
    // Default range: 30 days.
    expect((await get("/api/analytics/kpis")).body.range).toBe("30days");
  });
});

describe("a known data set", () => {
  const runs = { r1: randomUUID(), r2: randomUUID(), r3: randomUUID(), r4: randomUUID(), r5: randomUUID() };

  beforeAll(async () => {
    // Calls c1 and c2 go through the API for a task the writer holds (task A, active, so counted
    // as active in the KPIs); their `at` is then moved to a fixed time so buckets are known.
    writer = await d.registerAgent("writer-1", ["cost.write"], { role: "writer" });
    const submitted = await d.api("POST", "/api/tasks", { body: { type: "cost.write", payload: {} } });
    const claimed = await d.api("POST", `/api/agents/${writer.id}/claim`, {
      token: writer.token,
      body: { max: 1, waitMs: 2000 },
    });
    const taskA = claimed.body.tasks[0].id;
    expect(taskA).toBe(submitted.body.id);
    // One more task, queued (no agent has its capability): active now = 2.
    expect((await d.api("POST", "/api/tasks", { body: { type: "cost.idle", payload: {} } })).status).toBe(
      202,
    );
    const c1 = randomUUID();
    const c2 = randomUUID();
    const base = {
      provider: "openai",
      model: "test-gpt",
      source: "openai",
      taskId: taskA,
    };
    const posted = await d.api("POST", "/api/llm/calls", {
      token: writer.token,
      body: {
        calls: [
          {
            ...base,
            clientCallId: c1,
            usage: { inputTokens: 1000, outputTokens: 200, counted: false },
            latencyMs: 100,
            timeToFirstTokenMs: 60,
            status: "ok",
          },
          {
            ...base,
            clientCallId: c2,
            usage: { inputTokens: 0, outputTokens: 0, counted: false },
            latencyMs: 300,
            timeToFirstTokenMs: null,
            status: "error",
            errorType: "rate_limited",
          },
        ],
      },
    });
    expect(posted.status).toBe(202);
    await db.query("UPDATE llm_calls SET at = $2 WHERE id = $1", [c1, iso(T0 + HOUR)]);
    await db.query("UPDATE llm_calls SET at = $2 WHERE id = $1", [c2, iso(T0 + 1.5 * HOUR)]);

    // A real template (via the API) so the directly inserted runs reference a valid definition.
    const template = {
      name: "cost-tpl",
      steps: [
        { id: "draft", name: "Draft", executor: { kind: "agent", capability: "cost.draft" } },
        {
          id: "review",
          name: "Review",
          executor: { kind: "agent", capability: "cost.review" },
          dependsOn: ["draft"],
        },
      ],
    };
    expect((await d.api("PUT", "/api/pipelines/templates/cost-tpl", { body: template })).status).toBe(201);
    const run = (id: string, state: string, createdAt: number, finishedAt: number | null) =>
      db.query(
        `INSERT INTO pipeline_runs (id, template, template_version, input, state, created_at, updated_at, finished_at)
         VALUES ($1, 'cost-tpl', 1, '{}', $2, $3, $3, $4)`,
        [id, state, iso(createdAt), finishedAt === null ? null : iso(finishedAt)],
      );
    await run(runs.r1, "completed", now - 2 * DAY, now - 2 * DAY + 60_000); // 60 s
    await run(runs.r2, "completed", now - 3 * DAY, now - 3 * DAY + 120_000); // 120 s
    await run(runs.r3, "failed", now - DAY - 5_000, now - DAY);
    await run(runs.r4, "paused", now - HOUR, null);
    await run(runs.r5, "completed", now - 10 * DAY, now - 10 * DAY + 30_000); // previous 7 days: 30 s

    // Direct llm_calls rows, attributed to runs and steps (costs as stored, not repriced).
    const llm = (
      at: number,
      o: {
        role: string;
        provider: string;
        model: string;
        input: number;
        output: number;
        counted?: boolean;
        usd: string;
        priced?: boolean;
        latency: number;
        ttft: number | null;
        error?: string;
        run?: string;
        step?: string;
      },
    ) =>
      db.query(
        `INSERT INTO llm_calls (id, at, agent_id, role, run_id, step_id, provider, model, source, input_tokens,
           output_tokens, tokens_counted, cost_usd, priced, latency_ms, ttft_ms, status, error_type)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
        [
          randomUUID(),
          iso(at),
          writer.id,
          o.role,
          o.run ?? null,
          o.step ?? null,
          o.provider,
          o.model,
          o.input,
          o.output,
          o.counted ?? false,
          o.usd,
          o.priced ?? true,
          o.latency,
          o.ttft,
          o.error ? "error" : "ok",
          o.error ?? null,
        ],
      );
    // c3: step draft of r1.
    await llm(T0 + 2 * HOUR + 10 * 60_000, {
      role: "writer",
      provider: "openai",
      model: "test-gpt",
      input: 2000,
      output: 1000,
      usd: "0.01500001",
      latency: 200,
      ttft: 100,
      run: runs.r1,
      step: "draft",
    });
    // c4: step review of r1, self-hosted (free, priced), estimated tokens.
    await llm(T0 + DAY + 5 * HOUR, {
      role: "reviewer",
      provider: "ollama",
      model: "llama3",
      input: 500,
      output: 500,
      counted: true,
      usd: "0",
      latency: 400,
      ttft: 200,
      run: runs.r1,
      step: "review",
    });
    // c5: run r2 with no step, unknown price, a timeout.
    await llm(T0 + DAY + 5 * HOUR + 20 * 60_000, {
      role: "reviewer",
      provider: "openai",
      model: "mystery",
      input: 100,
      output: 100,
      usd: "0",
      priced: false,
      latency: 500,
      ttft: null,
      error: "timeout",
      run: runs.r2,
    });
    // c6: ten days ago (outside [from, to); in the previous 7-day KPI period).
    await llm(now - 10 * DAY, {
      role: "writer",
      provider: "openai",
      model: "test-gpt",
      input: 4000,
      output: 0,
      usd: "0.01",
      latency: 100,
      ttft: null,
    });

    // Finished tasks and their completed attempts, inserted directly.
    const task = async (state: string, finishedAt: number, claimedMsBefore?: number) => {
      const id = randomUUID();
      await db.query(
        `INSERT INTO tasks (id, type, payload, max_attempts, timeout_ms, state, attempts, finished_at)
         VALUES ($1, 'cost.done', '{}', 3, 60000, $2, 1, $3)`,
        [id, state, iso(finishedAt)],
      );
      if (claimedMsBefore !== undefined) {
        await db.query(
          `INSERT INTO task_attempts (task_id, attempt, agent_id, lease_token, claimed_at, finished_at, outcome)
           VALUES ($1, 1, $2, nextval('lease_token_seq'), $3, $4, 'completed')`,
          [id, writer.id, iso(finishedAt - claimedMsBefore), iso(finishedAt)],
        );
      }
    };
    await task("completed", now - DAY, 10_000);
    await task("completed", now - 2 * DAY, 30_000);
    await task("failed", now - DAY);
    await task("dead", now - 2 * DAY);
    await task("completed", now - 10 * DAY, 5_000); // previous 7 days

    // Ratings: 4 and 2 in the current 7 days, 5 in the 7 days before.
    const rate = (at: number, score: number, stepId: string | null) =>
      db.query(
        `INSERT INTO feedback (id, at, target_kind, run_id, step_id, score, author) VALUES ($1, $2, $3, $4, $5, $6, 'test')`,
        [randomUUID(), iso(at), stepId ? "step" : "run", runs.r1, stepId, score],
      );
    await rate(now - DAY, 4, null);
    await rate(now - 2 * DAY, 2, "draft");
    await rate(now - 10 * DAY, 5, null);
  });

  const q = `?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;

  it("totals and totals by role", async () => {
    const r = await get(`/api/metrics/costs${q}`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      // c1 0.0045 + c3 0.01500001; c2, c4, c5 cost 0
      totalUsd: 0.01950001,
      calls: 5,
      inputTokens: 1000 + 2000 + 500 + 100,
      outputTokens: 200 + 1000 + 500 + 100,
      unpricedCalls: 1,
      byRole: [
        {
          role: "writer",
          totalUsd: 0.01950001,
          calls: 3,
          inputTokens: 3000,
          outputTokens: 1200,
          unpricedCalls: 0,
        },
        { role: "reviewer", totalUsd: 0, calls: 2, inputTokens: 600, outputTokens: 600, unpricedCalls: 1 },
      ],
      from,
      to,
    });
    // The default 30-day window also holds c6.
    const all = await get("/api/metrics/costs");
    expect(all.body).toMatchObject({ totalUsd: 0.02950001, calls: 6, inputTokens: 7600 });
  });

  it("by pipeline step", async () => {
    const r = await get(`/api/metrics/costs/breakdown/phase${q}`);
    expect(r.status).toBe(200);
    const draft = {
      template: "cost-tpl",
      stepId: "draft",
      totalUsd: 0.01500001,
      calls: 1,
      inputTokens: 2000,
      outputTokens: 1000,
      unpricedCalls: 0,
    };
    const review = {
      template: "cost-tpl",
      stepId: "review",
      totalUsd: 0,
      calls: 1,
      inputTokens: 500,
      outputTokens: 500,
      unpricedCalls: 0,
    };
    const noStep = {
      template: "cost-tpl",
      stepId: null,
      totalUsd: 0,
      calls: 1,
      inputTokens: 100,
      outputTokens: 100,
      unpricedCalls: 1,
    };
    const noRun = {
      template: null,
      stepId: null,
      totalUsd: 0.0045,
      calls: 2,
      inputTokens: 1000,
      outputTokens: 200,
      unpricedCalls: 0,
    };
    expect(r.body).toEqual({ from, to, template: null, steps: [draft, review, noStep, noRun] });
    const one = await get(`/api/metrics/costs/breakdown/phase${q}&template=cost-tpl`);
    expect(one.body.steps).toEqual([draft, review, noStep]);
    expect((await get(`/api/metrics/costs/breakdown/phase${q}&template=other`)).body.steps).toEqual([]);
  });

  it("by model", async () => {
    const r = await get(`/api/metrics/costs/breakdown/model${q}`);
    expect(r.status).toBe(200);
    expect(r.body.models).toEqual([
      {
        provider: "openai",
        model: "test-gpt",
        totalUsd: 0.01950001,
        calls: 3,
        inputTokens: 3000,
        outputTokens: 1200,
        unpricedCalls: 0,
      },
      {
        provider: "ollama",
        model: "llama3",
        totalUsd: 0,
        calls: 1,
        inputTokens: 500,
        outputTokens: 500,
        unpricedCalls: 0,
      },
      {
        provider: "openai",
        model: "mystery",
        totalUsd: 0,
        calls: 1,
        inputTokens: 100,
        outputTokens: 100,
        unpricedCalls: 1,
      },
    ]);
  });

  it("history by day and by hour, only buckets with calls", async () => {
    const day = await get(`/api/metrics/costs/history${q}&bucket=day`);
    expect(day.status).toBe(200);
    expect(day.body.buckets).toEqual([
      {
        start: iso(T0),
        totalUsd: 0.01950001,
        calls: 3,
        inputTokens: 3000,
        outputTokens: 1200,
        unpricedCalls: 0,
      },
      { start: iso(T0 + DAY), totalUsd: 0, calls: 2, inputTokens: 600, outputTokens: 600, unpricedCalls: 1 },
    ]);
    const hour = await get(`/api/metrics/costs/history${q}&bucket=hour`);
    expect(
      hour.body.buckets.map((b: { start: string; calls: number; totalUsd: number }) => [
        b.start,
        b.calls,
        b.totalUsd,
      ]),
    ).toEqual([
      [iso(T0 + HOUR), 2, 0.0045],
      [iso(T0 + 2 * HOUR), 1, 0.01500001],
      [iso(T0 + DAY + 5 * HOUR), 2, 0],
    ]);
  });

  it("usage: calls, errors, tokens, latency and time to first token", async () => {
    const r = await get(`/api/metrics/usage${q}`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      from,
      to,
      calls: 5,
      errors: 2,
      tokens: { input: 3600, output: 1800, total: 5400, estimated: 1000 },
      // latencies 100 300 200 400 500: avg 300; p95 at rank 0.95 × 4 = 3.8 → 400 + 0.8 × 100
      latencyMs: { avg: 300, p95: 480 },
      // ttft 60 100 200 (two nulls left out): avg 120; p95 at 1.9 → 100 + 0.9 × 100
      ttftMs: { avg: 120, p95: 190 },
      errorsByType: [
        { errorType: "rate_limited", calls: 1 },
        { errorType: "timeout", calls: 1 },
      ],
      byModel: [
        {
          provider: "openai",
          model: "test-gpt",
          calls: 3,
          errors: 1,
          tokens: { input: 3000, output: 1200, total: 4200, estimated: 0 },
          // 100 300 200: avg 200, p95 at 1.9 → 200 + 0.9 × 100; ttft 60 100: p95 at 0.95 → 60 + 0.95 × 40
          latencyMs: { avg: 200, p95: 290 },
          ttftMs: { avg: 80, p95: 98 },
        },
        {
          provider: "ollama",
          model: "llama3",
          calls: 1,
          errors: 0,
          tokens: { input: 500, output: 500, total: 1000, estimated: 1000 },
          latencyMs: { avg: 400, p95: 400 },
          ttftMs: { avg: 200, p95: 200 },
        },
        {
          provider: "openai",
          model: "mystery",
          calls: 1,
          errors: 1,
          tokens: { input: 100, output: 100, total: 200, estimated: 0 },
          latencyMs: { avg: 500, p95: 500 },
          ttftMs: { avg: null, p95: null },
        },
      ],
    });
  });

  it("KPIs for 7 days against the 7 days before", async () => {
    const r = await get("/api/analytics/kpis?range=7days");
    expect(r.status).toBe(200);
    expect(r.body.range).toBe("7days");
    expect(Date.parse(r.body.to) - Date.parse(r.body.from)).toBe(7 * DAY);
    expect(r.body.previous.to).toBe(r.body.from);
    expect(r.body.current).toEqual({
      tasksCompleted: 2,
      tasksFailed: 2, // one failed, one dead
      tasksActive: 2, // task A (active) and the queued cost.idle task
      taskSuccessRate: 0.5,
      runsCompleted: 2,
      runsFailed: 1,
      runsActive: 1, // r4, paused
      runSuccessRate: 2 / 3,
      costUsd: 0.01950001,
      inputTokens: 3600,
      outputTokens: 1800,
      totalTokens: 5400,
      avgTaskDurationMs: 20_000, // (10 s + 30 s) / 2
      avgRunDurationMs: 90_000, // (60 s + 120 s) / 2
      feedbackCount: 2,
      feedbackAvgScore: 3, // (4 + 2) / 2
    });
    expect(r.body.previous).toMatchObject({
      tasksCompleted: 1,
      tasksFailed: 0,
      tasksActive: null,
      taskSuccessRate: 1,
      runsCompleted: 1,
      runsFailed: 0,
      runsActive: null,
      runSuccessRate: 1,
      costUsd: 0.01,
      inputTokens: 4000,
      outputTokens: 0,
      totalTokens: 4000,
      avgTaskDurationMs: 5_000,
      avgRunDurationMs: 30_000,
      feedbackCount: 1,
      feedbackAvgScore: 5,
    });
    const c = r.body.change;
    expect(c.tasksCompleted).toEqual({ absolute: 1, relative: 1 });
    expect(c.tasksFailed).toEqual({ absolute: 2, relative: null });
    expect(c.taskSuccessRate).toEqual({ absolute: -0.5, relative: -0.5 });
    expect(c.runsCompleted).toEqual({ absolute: 1, relative: 1 });
    expect(c.runsFailed).toEqual({ absolute: 1, relative: null });
    expect(c.runSuccessRate.absolute).toBe(-0.33333333);
    expect(c.runSuccessRate.relative).toBeCloseTo(-1 / 3, 12);
    expect(c.costUsd.absolute).toBe(0.00950001);
    expect(c.costUsd.relative).toBeCloseTo(0.950001, 9);
    expect(c.inputTokens.absolute).toBe(-400);
    expect(c.inputTokens.relative).toBeCloseTo(-0.1, 12);
    expect(c.outputTokens).toEqual({ absolute: 1800, relative: null });
    expect(c.totalTokens.absolute).toBe(1400);
    expect(c.totalTokens.relative).toBeCloseTo(0.35, 12);
    expect(c.avgTaskDurationMs).toEqual({ absolute: 15_000, relative: 3 });
    expect(c.avgRunDurationMs).toEqual({ absolute: 60_000, relative: 2 });
    expect(c.feedbackCount).toEqual({ absolute: 1, relative: 1 });
    expect(c.feedbackAvgScore).toEqual({ absolute: -2, relative: -0.4 });
    expect(c).not.toHaveProperty("tasksActive");
    expect(r.body.budget).toBeNull();
  });

  it("KPIs for 30 days (empty previous period) and for all time (no previous period)", async () => {
    const month = (await get("/api/analytics/kpis?range=30days")).body;
    expect(month.current).toMatchObject({
      tasksCompleted: 3,
      tasksFailed: 2,
      runsCompleted: 3,
      costUsd: 0.02950001,
    });
    expect(month.current.taskSuccessRate).toBeCloseTo(0.6, 12);
    expect(month.previous).toMatchObject({ tasksCompleted: 0, taskSuccessRate: null, costUsd: 0 });
    expect(month.change.tasksCompleted).toEqual({ absolute: 3, relative: null });
    expect(month.change.taskSuccessRate).toEqual({ absolute: null, relative: null });

    const all = (await get("/api/analytics/kpis?range=all")).body;
    expect(all).toMatchObject({ range: "all", from: null, previous: null, change: null, budget: null });
    expect(all.current).toMatchObject({
      tasksCompleted: 3,
      tasksFailed: 2,
      tasksActive: 2,
      runsCompleted: 3,
      runsFailed: 1,
      runsActive: 1,
      runSuccessRate: 0.75,
      costUsd: 0.02950001,
      totalTokens: 9400,
      avgTaskDurationMs: 15_000, // (10 + 30 + 5) / 3 s
      avgRunDurationMs: 70_000, // (60 + 120 + 30) / 3 s
    });
  });
});

describe("bad input", () => {
  it("refuses bad ranges, dates and buckets, and callers without a viewer token", async () => {
    const bad: [string, number][] = [
      ["/api/analytics/kpis?range=365days", 400],
      ["/api/analytics/kpis?range=", 400],
      ["/api/metrics/costs?from=yesterday", 400],
      ["/api/metrics/costs?to=2026-13-01T00:00:00Z", 400],
      [`/api/metrics/costs?from=${encodeURIComponent(to)}&to=${encodeURIComponent(from)}`, 400],
      [`/api/metrics/costs?from=${encodeURIComponent(from)}&to=${encodeURIComponent(from)}`, 400],
      ["/api/metrics/costs/history?bucket=week", 400],
      ["/api/metrics/costs/breakdown/phase?template=Bad%20Name", 400],
      ["/api/metrics/usage?from=2026-01-01", 400],
    ];
    for (const [path, status] of bad) {
      const r = await get(path);
      expect([path, r.status]).toEqual([path, status]);
      expect(r.body.error.code).toBe("OVS_ERR_VALIDATION");
    }
    for (const path of ["/api/metrics/costs", "/api/metrics/usage", "/api/analytics/kpis"]) {
      expect((await get(path, null)).status).toBe(401);
      expect((await get(path, "not-a-token")).status).toBe(401);
    }
    // An agent token is not a viewer.
    expect((await get("/api/metrics/costs", writer.token)).status).toBe(403);
  });
});

it("documents the endpoints in the OpenAPI document", async () => {
  const doc = await d.api("GET", "/docs/json", { token: null });
  for (const path of [
    "/api/metrics/costs",
    "/api/metrics/costs/breakdown/phase",
    "/api/metrics/costs/breakdown/model",
    "/api/metrics/costs/history",
    "/api/metrics/usage",
    "/api/analytics/kpis",
    "/api/metrics/costs/budget",
    "/api/budgets",
    "/api/budgets/{id}",
    "/api/budgets/approvals",
    "/api/pipelines/runs/{id}/steps/{stepId}/approve-budget",
    "/api/feedback",
    "/api/llm/export",
    "/api/llm/calls",
  ]) {
    expect(Object.keys(doc.body.paths)).toContain(path);
  }
});
