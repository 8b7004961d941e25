import { randomUUID } from "node:crypto";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LlmClient } from "../../sdk/llm/llm-client.ts";
import { eventually, startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { TOKENS } from "../helpers/test-env.ts";
import { runUntil, startPipelineAgents, stopAgents } from "../pipelines/helpers.ts";

// The offline model priced high enough that one demo step's call costs real (test) money: an offline
// answer of ~40 tokens to a ~20-token prompt costs about 0.06 USD at 1,000 USD per million tokens.
const PRICING = { offline: { inputPerMTok: 1000, outputPerMTok: 1000 } };

let d: TestDaemon;
let db: pg.Client;
let agents: Awaited<ReturnType<typeof startPipelineAgents>>;
const admin = { token: TOKENS.admin };
const viewer = { token: TOKENS.viewer };

/** A recorded call at `at` (today by default), for the given role and run. */
async function spend(usd: string, o: { role?: string; runId?: string; at?: Date } = {}) {
  await db.query(
    `INSERT INTO llm_calls (id, at, agent_id, role, run_id, provider, model, source, input_tokens, output_tokens,
       tokens_counted, cost_usd, priced, latency_ms, status)
     VALUES ($1, $2, $3, $4, $5, 'openai', 'seeded', 'openai', 10, 10, false, $6, true, 5, 'ok')`,
    [
      randomUUID(),
      (o.at ?? new Date()).toISOString(),
      randomUUID(),
      o.role ?? "seeder",
      o.runId ?? null,
      usd,
    ],
  );
}

async function createBudget(body: Record<string, unknown>) {
  const r = await d.api("POST", "/api/budgets", { ...admin, body });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body as { id: string };
}

async function clearBudgets() {
  await db.query("DELETE FROM budgets");
  await db.query("DELETE FROM llm_calls");
}

const mission = async (input: Record<string, unknown>) => {
  const r = await d.api("POST", "/api/pipelines/mission/runs", { body: { input } });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return r.body.id as string;
};

beforeAll(async () => {
  d = await startTestDaemon({
    OVERSEER_LLM_PRICING: JSON.stringify(PRICING),
    OVERSEER_PIPELINE_SWEEP_INTERVAL_MS: "200",
  });
  db = await namespaceDb(d.namespace);
  agents = await startPipelineAgents(d, {
    workMs: 10,
    llm: new LlmClient({ provider: "offline", model: "offline" }),
    llmFlushMs: 60_000, // only the flush before each report delivers records: it must be enough
  });
});
afterAll(async () => {
  await stopAgents(agents ?? []);
  await db?.end();
  await d?.close();
});

describe("budget CRUD", () => {
  it("creates, reads, changes and deletes a budget, audited; refuses bad input with a clear 4xx", async () => {
    await clearBudgets();
    const b = await createBudget({
      scope: "role",
      target: "classifier",
      period: "month",
      softLimitUsd: 5,
      hardLimitUsd: 10,
      description: "classifier spend",
    });
    const listed = await d.api("GET", "/api/budgets", viewer);
    expect(listed.body.budgets).toMatchObject([
      { id: b.id, scope: "role", target: "classifier", period: "month", softLimitUsd: 5, hardLimitUsd: 10 },
    ]);
    const patched = await d.api("PATCH", `/api/budgets/${b.id}`, {
      ...admin,
      body: { hardLimitUsd: 20, onHard: "approval" },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ softLimitUsd: 5, hardLimitUsd: 20, onHard: "approval" });

    const bad: Array<[string, string, unknown, number, string]> = [
      [
        "POST",
        "/api/budgets",
        { scope: "global", period: "week", hardLimitUsd: 1 },
        400,
        "OVS_ERR_VALIDATION",
      ],
      ["POST", "/api/budgets", { scope: "global", period: "day" }, 400, "OVS_ERR_VALIDATION"],
      [
        "POST",
        "/api/budgets",
        { scope: "global", period: "day", hardLimitUsd: -1 },
        400,
        "OVS_ERR_VALIDATION",
      ],
      [
        "POST",
        "/api/budgets",
        { scope: "global", period: "day", softLimitUsd: 5, hardLimitUsd: 1 },
        400,
        "OVS_ERR_VALIDATION",
      ],
      ["POST", "/api/budgets", { scope: "role", period: "day", hardLimitUsd: 1 }, 400, "OVS_ERR_VALIDATION"],
      [
        "POST",
        "/api/budgets",
        { scope: "global", target: "x", period: "day", hardLimitUsd: 1 },
        400,
        "OVS_ERR_VALIDATION",
      ],
      [
        "POST",
        "/api/budgets",
        { scope: "global", period: "day", softLimitUsd: 1, onHard: "approval" },
        400,
        "OVS_ERR_VALIDATION",
      ],
      [
        "POST",
        "/api/budgets",
        { scope: "role", target: "classifier", period: "month", hardLimitUsd: 1 },
        409,
        "OVS_ERR_BUDGET_CONFLICT",
      ],
      ["PATCH", `/api/budgets/${b.id}`, { softLimitUsd: 50 }, 400, "OVS_ERR_VALIDATION"],
      ["PATCH", `/api/budgets/${b.id}`, {}, 400, "OVS_ERR_VALIDATION"],
      ["PATCH", `/api/budgets/${randomUUID()}`, { softLimitUsd: 1 }, 404, "OVS_ERR_BUDGET_NOT_FOUND"],
      ["DELETE", `/api/budgets/${randomUUID()}`, undefined, 404, "OVS_ERR_BUDGET_NOT_FOUND"],
      ["GET", "/api/budgets/not-a-uuid", undefined, 400, "OVS_ERR_VALIDATION"],
    ];
    for (const [method, path, body, status, code] of bad) {
      const r = await d.api(method, path, { ...admin, ...(body === undefined ? {} : { body }) });
      expect([method, path, r.status, r.body?.error?.code]).toEqual([method, path, status, code]);
      expect(typeof r.body.error.message).toBe("string");
    }
    // Writes need the admin role.
    for (const token of [TOKENS.operator, TOKENS.viewer]) {
      const r = await d.api("POST", "/api/budgets", {
        token,
        body: { scope: "global", period: "day", hardLimitUsd: 1 },
      });
      expect(r.status).toBe(403);
    }
    // Nothing half-written by the refusals.
    expect((await d.api("GET", "/api/budgets", viewer)).body.budgets).toHaveLength(1);

    expect((await d.api("DELETE", `/api/budgets/${b.id}`, admin)).status).toBe(200);
    expect((await d.api("GET", `/api/budgets/${b.id}`, viewer)).status).toBe(404);
    const audit = await db.query<{ action: string }>(
      "SELECT action FROM audit_log WHERE target_kind = 'budget' AND target_id = $1 ORDER BY at, id",
      [b.id],
    );
    expect(audit.rows.map((r) => r.action)).toEqual(["budget.create", "budget.update", "budget.delete"]);
  });
});

describe("budget status, KPIs and metrics from a known data set", () => {
  it("matches hand-computed spend, use and state", async () => {
    await clearBudgets();
    const runId = randomUUID();
    await db.query(
      `INSERT INTO pipeline_runs (id, template, template_version, input, state) VALUES ($1, 'story', 1, '{}', 'running')`,
      [runId],
    );
    const now = new Date();
    const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const dayStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    // Today: 0.4 (role writer, run of story) + 0.35 (role reviewer).
    await spend("0.4", { role: "writer", runId });
    await spend("0.35", { role: "reviewer" });
    // Earlier this month, but not today (skipped on the 1st: there is no such time).
    const earlier = new Date(dayStart.getTime() - 1_000);
    const sameMonth = earlier >= monthStart;
    if (sameMonth) await spend("2", { role: "writer", at: earlier });
    // Last month: counted by no budget.
    await spend("100", { role: "writer", at: new Date(monthStart.getTime() - 1_000) });

    const g = await createBudget({ scope: "global", period: "day", softLimitUsd: 0.5, hardLimitUsd: 1 });
    const w = await createBudget({ scope: "role", target: "writer", period: "month", hardLimitUsd: 2 });
    const t = await createBudget({ scope: "template", target: "story", period: "day", softLimitUsd: 0.1 });

    const r = await d.api("GET", "/api/metrics/costs/budget", viewer);
    expect(r.status).toBe(200);
    const byId = new Map<string, any>(r.body.budgets.map((b: { id: string }) => [b.id, b]));
    // global/day: 0.4 + 0.35 = 0.75 → over soft 0.5, under hard 1.
    expect(byId.get(g.id)).toMatchObject({ spentUsd: 0.75, softUsed: 1.5, hardUsed: 0.75, state: "warning" });
    // role writer/month: 0.4 (+ 2 earlier this month) → hard 2.
    expect(byId.get(w.id)).toMatchObject(
      sameMonth
        ? { spentUsd: 2.4, hardUsed: 1.2, softUsed: null, state: "exceeded" }
        : { spentUsd: 0.4, hardUsed: 0.2, state: "ok" },
    );
    // template story/day: 0.4 → over soft 0.1; no hard limit.
    expect(byId.get(t.id)).toMatchObject({ spentUsd: 0.4, softUsed: 4, hardUsed: null, state: "warning" });
    expect(byId.get(g.id).periodStart).toBe(dayStart.toISOString());
    expect(byId.get(w.id).periodStart).toBe(monthStart.toISOString());
    expect(byId.get(g.id).burnRate).toBeGreaterThan(0);

    const kpis = await d.api("GET", "/api/analytics/kpis?range=7days", viewer);
    expect(kpis.body.budget).toMatchObject({
      defined: 3,
      exceeded: sameMonth ? 1 : 0,
      warning: 2,
    });

    const text = (await d.api("GET", "/metrics", { token: null })).text;
    expect(text).toMatch(/overseer_llm_budget_spent_usd\{scope="global",target="",period="day"\} 0\.75/);
    expect(text).toMatch(
      /overseer_llm_budget_used_ratio\{scope="global",target="",period="day",limit="soft"\} 1\.5/,
    );
    expect(text).toMatch(
      /overseer_llm_budget_limit_usd\{scope="template",target="story",period="day",limit="soft"\} 0\.1/,
    );
    expect(text).toMatch(/overseer_llm_budget_burn_rate\{scope="role",target="writer",period="month"\}/);
    expect(text).not.toMatch(
      /overseer_llm_budget_limit_usd\{scope="template",target="story",period="day",limit="hard"\}/,
    );
  });

  it("an empty system has no budgets: an empty list and KPI budget null, never a made-up limit", async () => {
    await clearBudgets();
    const r = await d.api("GET", "/api/metrics/costs/budget", viewer);
    expect(r.body).toMatchObject({ budgets: [], pendingApprovals: 0 });
    expect((await d.api("GET", "/api/analytics/kpis", viewer)).body.budget).toBeNull();
  });
});

describe("the mission's budget step", () => {
  it("a hard global budget stops the mission at the budget step, and the run says why", async () => {
    await clearBudgets();
    await spend("3");
    await createBudget({ scope: "global", period: "day", hardLimitUsd: 2 });
    const id = await mission({ request: "summarize the incident report" });
    const run = await runUntil(d, id, (r) => r.state === "failed", "the run to fail at the budget step");
    const budget = run.steps.find((s: { id: string }) => s.id === "budget");
    expect(budget.state).toBe("failed");
    expect(budget.error.category).toBe("budget_exceeded");
    expect(budget.error.message).toMatch(
      /^global daily budget: spent 3\.\d+ USD, hard limit 2 USD \(resets /,
    );
    expect(run.error.failedSteps).toEqual(["budget"]);
    console.log(`llm-acceptance-3: run ${id} ${run.state} at step budget: ${budget.error.message}`);
    // Nothing after the budget step ran.
    for (const later of ["tool_selection", "tool_execution", "finalize"]) {
      expect(run.steps.find((s: { id: string }) => s.id === later).state).toBe("pending");
    }
    const text = (await d.api("GET", "/metrics", { token: null })).text;
    expect(text).toMatch(/overseer_budget_step_outcomes_total\{template="mission",outcome="block"\} [1-9]/);
  });

  it("the run's own limit counts the calls its agents recorded (delivered before each step's report)", async () => {
    await clearBudgets();
    const id = await mission({ request: "draft a status update", budgetUsd: 0.001 });
    const run = await runUntil(d, id, (r) => r.state === "failed", "the run over its own limit to fail");
    const budget = run.steps.find((s: { id: string }) => s.id === "budget");
    expect(budget.error.message).toMatch(/^run budget: spent 0\.\d+ USD, limit 0\.001 USD/);
    console.log(`llm-acceptance-3b: run ${id} ${run.state} at step budget: ${budget.error.message}`);
    const calls = await db.query<{ step_id: string; role: string; cost: string }>(
      "SELECT step_id, role, cost_usd::text AS cost FROM llm_calls WHERE run_id = $1",
      [id],
    );
    expect(calls.rows).toHaveLength(1);
    expect(calls.rows[0]).toMatchObject({ step_id: "intent", role: "classifier" });
    expect(Number(calls.rows[0]?.cost)).toBeGreaterThan(0.001);

    // Under its limit, the same mission completes and its budget output says what was checked.
    const ok = await mission({ request: "draft a status update", budgetUsd: 100 });
    const done = await runUntil(d, ok, (r) => r.state === "completed", "the run under its limit to complete");
    const out = done.steps.find((s: { id: string }) => s.id === "budget").output;
    expect(out).toMatchObject({ enforced: true, runLimitUsd: 100, exceeded: [], approved: null });
    expect(out.runSpentUsd).toBeGreaterThan(0);
  });

  it("a role budget over its hard limit stops runs that need that role", async () => {
    await clearBudgets();
    await spend("5", { role: "tool-runner" });
    await createBudget({ scope: "role", target: "tool-runner", period: "month", hardLimitUsd: 1 });
    // A budget of a role the mission does not use does not stop it.
    await createBudget({ scope: "role", target: "architect", period: "day", hardLimitUsd: 0.01 });
    await spend("1", { role: "architect" });
    const id = await mission({ request: "search the runbooks" });
    const run = await runUntil(d, id, (r) => r.state === "failed", "the run to fail on the role budget");
    const msg = run.steps.find((s: { id: string }) => s.id === "budget").error.message as string;
    expect(msg).toMatch(/^role tool-runner monthly budget: spent 5 USD, hard limit 1 USD/);
    expect(msg).not.toMatch(/architect/);
  });

  it("with onHard 'approval' the run waits at the budget step; approve lets it finish, reject fails it", async () => {
    await clearBudgets();
    await spend("3");
    await createBudget({ scope: "global", period: "day", hardLimitUsd: 2, onHard: "approval" });
    const a = await mission({ request: "summarize the incident report" });
    const b = await mission({ request: "summarize the incident report" });
    for (const id of [a, b]) {
      const waiting = await runUntil(
        d,
        id,
        (r) => r.steps.find((s: { id: string }) => s.id === "budget")?.state === "running",
        "the budget step to wait",
      );
      const step = waiting.steps.find((s: { id: string }) => s.id === "budget");
      expect(step.message).toMatch(/^waiting for an operator's budget approval: global daily budget/);
      expect(waiting.state).toBe("running");
    }
    const pending = await eventually(
      async () => {
        const r = await d.api("GET", "/api/budgets/approvals", viewer);
        return r.body.pending.length === 2 ? r.body.pending : null;
      },
      5_000,
      "two pending approvals",
    );
    expect(pending.map((p: { runId: string }) => p.runId).sort()).toEqual([a, b].sort());
    expect((await d.api("GET", "/api/metrics/costs/budget", viewer)).body.pendingApprovals).toBe(2);
    // Sweeps come and go; the step keeps waiting and asks only once.
    await new Promise((r) => setTimeout(r, 600));
    const asked = await db.query("SELECT 1 FROM budget_approvals WHERE run_id = $1", [a]);
    expect(asked.rowCount).toBe(1);

    // Viewers cannot decide; a step that is not waiting cannot be approved.
    expect(
      (
        await d.api("POST", `/api/pipelines/runs/${a}/steps/budget/approve-budget`, {
          token: TOKENS.viewer,
          body: {},
        })
      ).status,
    ).toBe(403);
    const notWaiting = await d.api("POST", `/api/pipelines/runs/${a}/steps/intent/approve-budget`, {
      body: {},
    });
    expect([notWaiting.status, notWaiting.body.error.code]).toEqual([409, "OVS_ERR_RUN_STATE_CONFLICT"]);

    const approved = await d.api("POST", `/api/pipelines/runs/${a}/steps/budget/approve-budget`, {
      body: { comment: "incident work, approved by on-call" },
    });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    const rejected = await d.api("POST", `/api/pipelines/runs/${b}/steps/budget/reject-budget`, {
      body: { comment: "not today" },
    });
    expect(rejected.status).toBe(200);

    const done = await runUntil(d, a, (r) => r.state === "completed", "the approved run to complete");
    expect(done.steps.find((s: { id: string }) => s.id === "budget").output.approved).toEqual({
      by: "operator",
      comment: "incident work, approved by on-call",
    });
    const failed = await runUntil(d, b, (r) => r.state === "failed", "the rejected run to fail");
    expect(failed.steps.find((s: { id: string }) => s.id === "budget").error.message).toMatch(
      /^budget approval rejected by operator: not today \(global daily budget/,
    );
    // Twice is a conflict: the decision is taken.
    const again = await d.api("POST", `/api/pipelines/runs/${a}/steps/budget/approve-budget`, { body: {} });
    expect(again.status).toBe(409);
    const audit = await db.query<{ action: string }>(
      "SELECT action FROM audit_log WHERE target_id = ANY($1) AND action LIKE 'run.%budget' ORDER BY at",
      [[a, b]],
    );
    expect(audit.rows.map((r) => r.action).sort()).toEqual(["run.approve-budget", "run.reject-budget"]);
    expect((await d.api("GET", "/api/budgets/approvals", viewer)).body.pending).toEqual([]);
  });

  it("a waiting step passes on its own once the limit is raised, and said it was waiting only once", async () => {
    await clearBudgets();
    await spend("3");
    const b = await createBudget({ scope: "global", period: "day", hardLimitUsd: 2, onHard: "approval" });
    const id = await mission({ request: "summarize the incident report" });
    await runUntil(
      d,
      id,
      (r) => r.steps.find((s: { id: string }) => s.id === "budget")?.state === "running",
      "the budget step to wait",
    );
    // Several sweeps (every 200 ms here) go by while it waits.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(
      (await d.api("PATCH", `/api/budgets/${b.id}`, { ...admin, body: { hardLimitUsd: 100 } })).status,
    ).toBe(200);
    const done = await runUntil(d, id, (r) => r.state === "completed", "the run to complete after the raise");
    const step = done.steps.find((s: { id: string }) => s.id === "budget");
    expect(step.output.approved).toBeNull();
    expect(step.message).toBeNull();
    const waited = await db.query(
      "SELECT count(*)::int AS n FROM pipeline_events WHERE run_id = $1 AND type = 'step.waiting'",
      [id],
    );
    expect(waited.rows[0].n).toBe(1);
  });

  it("a soft limit warns and lets the run through", async () => {
    await clearBudgets();
    await spend("3");
    await createBudget({ scope: "global", period: "day", softLimitUsd: 1 });
    const id = await mission({ request: "summarize the incident report" });
    const run = await runUntil(d, id, (r) => r.state === "completed", "the run to complete");
    const out = run.steps.find((s: { id: string }) => s.id === "budget").output;
    expect(out.budgets).toMatchObject([{ scope: "global", state: "warning", softLimitUsd: 1 }]);
    const text = (await d.api("GET", "/metrics", { token: null })).text;
    expect(text).toMatch(/overseer_budget_step_outcomes_total\{template="mission",outcome="warn"\} [1-9]/);
  });
});
