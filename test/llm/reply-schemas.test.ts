import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KpiReads } from "../../daemon/analytics/kpi-reads.ts";
import { BudgetService } from "../../daemon/budgets/budget-service.ts";
import { DashboardReads } from "../../daemon/dashboard/dashboard-reads.ts";
import { EventBus } from "../../daemon/events/event-bus.ts";
import { FeedbackService } from "../../daemon/feedback/feedback-service.ts";
import { CostReads } from "../../daemon/llm/cost-reads.ts";
import { AgentStore } from "../../daemon/store/agent-store.ts";
import { schemaFor } from "../../daemon/store/migrate.ts";
import { HeartbeatStore } from "../../daemon/store/redis/heartbeat-store.ts";
import { redisKeys } from "../../daemon/store/redis/redis-keys.ts";
import { TaskStore } from "../../daemon/store/task-store.ts";
import { eventually, startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { DATABASE_URL, REDIS_URL, TOKENS } from "../helpers/test-env.ts";

// Fastify serialises an answer with its route's response schema, which drops every property the
// schema does not name. These checks compare each answer with what the service returned, as JSON:
// equal where the read is deterministic (a fixed window), the same shape where it depends on now.

let d: TestDaemon;
let pool: pg.Pool;
let redis: Redis;
const viewer = { token: TOKENS.viewer };
const runId = randomUUID();
const from = "2002-03-01T00:00:00.000Z";
const to = "2002-03-03T00:00:00.000Z";

/** JSON as it goes over the wire. */
const json = (x: unknown) => JSON.parse(JSON.stringify(x));

/** The structure of a JSON value: its keys, array lengths and leaf types, not its values. */
function shape(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(shape);
  if (x === null) return "null";
  if (typeof x === "object") {
    return Object.fromEntries(
      Object.entries(x as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, shape(v)]),
    );
  }
  return typeof x;
}

async function call(
  at: string,
  o: { role: string; model: string; status?: "ok" | "error"; errorType?: string | null; step?: string },
) {
  await pool.query(
    `INSERT INTO llm_calls (id, at, agent_id, role, run_id, step_id, provider, model, source, input_tokens,
       output_tokens, tokens_counted, cost_usd, priced, latency_ms, ttft_ms, status, error_type, prompt, response)
     VALUES ($1, $2, $3, $4, $5, $6, 'openai', $7, 'openai', 120, 45, $8, $9, $10, 800, 90, $11, $12,
       '[{"role":"user","content":"hi"}]', 'hello')`,
    [
      randomUUID(),
      at,
      randomUUID(),
      o.role,
      o.step ? runId : null,
      o.step ?? null,
      o.model,
      o.model === "counted",
      o.model === "unpriced" ? "0" : "0.0125",
      o.model !== "unpriced",
      o.status ?? "ok",
      o.status === "error" ? (o.errorType ?? null) : null,
    ],
  );
}

beforeAll(async () => {
  d = await startTestDaemon();
  pool = new pg.Pool({ connectionString: DATABASE_URL, options: `-c search_path=${schemaFor(d.namespace)}` });
  redis = new Redis(REDIS_URL);
  await pool.query(
    `INSERT INTO pipeline_runs (id, template, template_version, input, state) VALUES ($1, 'story', 1, '{}', 'paused')`,
    [runId],
  );
  await pool.query(
    `INSERT INTO pipeline_steps (run_id, step_id, position, state) VALUES ($1, 'draft', 1, 'running')`,
    [runId],
  );
  await pool.query(
    `INSERT INTO budget_approvals (run_id, step_id, generation, state, reason)
     VALUES ($1, 'draft', 0, 'pending', '{"exceeded":["global daily budget"]}')`,
    [runId],
  );
  await call("2002-03-01T10:15:00Z", { role: "writer", model: "gpt-x", step: "draft" });
  await call("2002-03-01T10:45:00Z", { role: "writer", model: "counted", step: "draft" });
  await call("2002-03-02T08:00:00Z", {
    role: "reviewer",
    model: "gpt-x",
    status: "error",
    errorType: "timeout",
  });
  await call("2002-03-02T09:00:00Z", { role: "reviewer", model: "unpriced", status: "error" });
  // Today's spend, for the budgets' status and the KPIs.
  await call(new Date().toISOString(), { role: "writer", model: "gpt-x", step: "draft" });
});
afterAll(async () => {
  await pool?.end();
  redis?.disconnect();
  await d?.close();
});

describe("cost and usage answers carry everything the reads return", () => {
  const costs = () => new CostReads(pool);
  const cases: Array<[string, () => Promise<unknown>]> = [
    [`/api/metrics/costs?from=${from}&to=${to}`, () => costs().costs({ from, to })],
    [`/api/metrics/costs/breakdown/phase?from=${from}&to=${to}`, () => costs().byPhase({ from, to })],
    [
      `/api/metrics/costs/breakdown/phase?from=${from}&to=${to}&template=story`,
      () => costs().byPhase({ from, to, template: "story" }),
    ],
    [`/api/metrics/costs/breakdown/model?from=${from}&to=${to}`, () => costs().byModel({ from, to })],
    [
      `/api/metrics/costs/history?from=${from}&to=${to}&bucket=hour`,
      () => costs().history({ from, to, bucket: "hour" }),
    ],
    [`/api/metrics/costs/history?from=${from}&to=${to}`, () => costs().history({ from, to, bucket: "day" })],
    [`/api/metrics/usage?from=${from}&to=${to}`, () => costs().usage({ from, to })],
  ];
  it.each(cases)("%s", async (path, read) => {
    const r = await d.api("GET", path, viewer);
    expect(r.status).toBe(200);
    expect(r.body).toEqual(json(await read()));
  });

  it("the seeded window is not empty (every list above has entries)", async () => {
    const usage = await costs().usage({ from, to });
    expect(usage.calls).toBe(4);
    expect(usage.errorsByType.map((e) => e.errorType).sort()).toEqual(["other", "timeout"]);
    expect(usage.byModel).toHaveLength(3);
  });
});

describe("budget, feedback and KPI answers carry everything the services return", () => {
  const budgets = () => new BudgetService(pool, new EventBus());

  it("budgets: create, change, read, list, status, approvals, delete", async () => {
    const admin = { token: TOKENS.admin };
    const created = await d.api("POST", "/api/budgets", {
      ...admin,
      body: { scope: "global", period: "day", softLimitUsd: 0.001, hardLimitUsd: 5, description: "all" },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual(json(await budgets().get(created.body.id)));
    for (const body of [
      { scope: "role", target: "writer", period: "month", hardLimitUsd: 0.002, onHard: "approval" },
      { scope: "template", target: "story", period: "day", softLimitUsd: 1 },
    ]) {
      expect((await d.api("POST", "/api/budgets", { ...admin, body })).status).toBe(201);
    }
    const patched = await d.api("PATCH", `/api/budgets/${created.body.id}`, {
      ...admin,
      body: { description: null },
    });
    expect(patched.body).toEqual(json(await budgets().get(created.body.id)));
    const one = await d.api("GET", `/api/budgets/${created.body.id}`, viewer);
    expect(one.body).toEqual(json(await budgets().get(created.body.id)));
    const list = await d.api("GET", "/api/budgets", viewer);
    expect(list.body).toEqual({ budgets: json(await budgets().list()) });

    const approvals = await d.api("GET", "/api/budgets/approvals", viewer);
    expect(approvals.body.pending).toHaveLength(1);
    expect(approvals.body).toEqual({ pending: json(await budgets().pendingApprovals()) });

    // Spend, use and burn rate move with the clock: the same fields, each of the same kind.
    const status = await d.api("GET", "/api/metrics/costs/budget", viewer);
    const expected = json(await budgets().status());
    expect(status.body.budgets.map((b: { state: string }) => b.state).sort()).toEqual([
      "exceeded",
      "ok",
      "warning",
    ]);
    expect(shape(status.body)).toEqual(
      shape({ at: "", budgets: expected, pendingApprovals: expected.length > 0 ? 1 : 0 }),
    );
    expect(Object.keys(status.body.budgets[0]).sort()).toEqual(Object.keys(expected[0]).sort());

    const removed = await budgets().get(created.body.id);
    const deleted = await d.api("DELETE", `/api/budgets/${created.body.id}`, admin);
    expect(deleted.body).toEqual(json(removed));
  });

  it("feedback: a rating of each kind, and the list", async () => {
    const callId = (await pool.query<{ id: string }>("SELECT id FROM llm_calls ORDER BY at LIMIT 1")).rows[0]
      ?.id;
    const feedback = new FeedbackService(pool, new EventBus());
    const posted = [];
    for (const body of [
      { runId, score: 5, comment: "good" },
      { runId, stepId: "draft", score: 2 },
      { callId, score: 4 },
    ]) {
      const r = await d.api("POST", "/api/feedback", { body });
      expect(r.status).toBe(201);
      posted.push(r.body);
    }
    const all = [
      ...(await feedback.list({ runId, limit: 100 })),
      ...(await feedback.list({ callId, limit: 100 })),
    ];
    for (const p of posted) expect(p).toEqual(json(all.find((f) => f.id === p.id)));
    const listed = await d.api("GET", `/api/feedback?runId=${runId}`, viewer);
    expect(listed.body).toEqual({ feedback: json(await feedback.list({ runId, limit: 100 })) });
  });

  it.each(["7days", "all"] as const)("KPIs (%s)", async (range) => {
    const r = await d.api("GET", `/api/analytics/kpis?range=${range}`, viewer);
    const kpis = await new KpiReads(pool, budgets()).kpis(range);
    expect(r.body.budget).not.toBeNull();
    expect(shape(r.body)).toEqual(shape(json(kpis)));
  });
});

describe("dashboard answers carry everything the reads return", () => {
  it("agents, heartbeats and the task queue", async () => {
    const agent = await d.registerAgent("shape", ["shape.a"], { role: "writer" });
    await d.api("POST", "/api/tasks", { body: { type: "shape.a", payload: {} } });
    await d.api("POST", "/api/tasks", { body: { type: "shape.a", payload: {} } });
    const claimed = await d.api("POST", `/api/agents/${agent.id}/claim`, {
      token: agent.token,
      body: { waitMs: 1_000 },
    });
    const task = claimed.body.tasks[0];
    await d.api("POST", `/api/tasks/${task.id}/complete`, {
      token: agent.token,
      body: { leaseToken: task.leaseToken },
    });
    const reads = new DashboardReads(
      pool,
      new AgentStore(pool, new TaskStore(pool, { delayMs: () => 0 })),
      new HeartbeatStore(redis, redisKeys(d.namespace)),
      {
        heartbeatIntervalMs: d.config.heartbeatIntervalMs,
        staleAfterMs: d.config.agentStaleAfterMs,
        deadAfterMs: d.config.agentDeadAfterMs,
      },
    );
    // Once the agent has beaten, its load is known and stays so.
    await eventually(
      async () =>
        ((await reads.agentsStatus({ includeEnded: false, limit: 10 })).agents[0]?.load ?? null) !== null,
      5_000,
      "the agent's first heartbeat",
    );

    const status = await d.api("GET", "/api/dashboard/agents/status", viewer);
    expect(status.body.agents).toHaveLength(1);
    expect(shape(status.body)).toEqual(
      shape(json(await reads.agentsStatus({ includeEnded: false, limit: 1_000 }))),
    );
    const beats = await d.api("GET", "/api/dashboard/agents/heartbeat", viewer);
    expect(shape(beats.body)).toEqual(shape(json(await reads.heartbeats())));
    const queue = await d.api("GET", "/api/dashboard/tasks/queue", viewer);
    expect(queue.body.queues).toHaveLength(1);
    expect(shape(queue.body)).toEqual(shape(json(await reads.taskQueue({}))));
  });
});
