import { randomUUID } from "node:crypto";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Agent } from "../../sdk/agent.ts";
import { pageErrors, signIn } from "../helpers/browser.ts";
import { consoleSuite } from "../helpers/console-daemon.ts";
import { acted, open } from "../helpers/console-levers.ts";
import { eventually } from "../helpers/daemon-harness.ts";
import { TOKENS } from "../helpers/test-env.ts";
import { runUntil, startPipelineAgents, stopAgents } from "../pipelines/helpers.ts";

/**
 * A budget wait decided through the console: missions stop at their budget step over a global hard
 * limit that asks for approval; one is approved on its run's page, the other rejected on the costs
 * page. Each decision is checked through the API (the run goes on or fails) and the audit log.
 */
const suite = consoleSuite({ OVERSEER_PIPELINE_SWEEP_INTERVAL_MS: "200" });
let agents: Agent[] = [];
let page: Page;
const errors: string[] = [];

beforeAll(async () => {
  agents = await startPipelineAgents(suite.d, { workMs: 10 });
  page = await suite.browser.newPage({ viewport: { width: 1400, height: 1000 } });
  errors.push(...pageErrors(page));
  await signIn(page, suite.d.url, TOKENS.operator, "budget-owner");
});
afterAll(async () => {
  await page?.close();
  await stopAgents(agents);
});

it("approves one budget wait on the run's page and rejects another on the costs page", async () => {
  const d = suite.d;
  // Today's spend over a 2 USD global hard limit whose onHard asks an operator.
  await suite.db.query(
    `INSERT INTO llm_calls (id, at, agent_id, role, provider, model, source, input_tokens, output_tokens,
       tokens_counted, cost_usd, priced, latency_ms, status)
     VALUES ($1, now(), $2, 'seeder', 'openai', 'seeded', 'openai', 10, 10, false, 3, true, 5, 'ok')`,
    [randomUUID(), randomUUID()],
  );
  const budget = await d.api("POST", "/api/budgets", {
    token: TOKENS.admin,
    body: { scope: "global", period: "day", hardLimitUsd: 2, onHard: "approval" },
  });
  expect(budget.status).toBe(201);
  const runs: string[] = [];
  for (const request of ["approve me", "reject me"]) {
    const r = await d.api("POST", "/api/pipelines/mission/runs", { body: { input: { request } } });
    expect(r.status).toBe(202);
    runs.push(r.body.id as string);
  }
  await eventually(
    async () => {
      const r = await d.api("GET", "/api/budgets/approvals", { token: TOKENS.viewer });
      return r.body.pending.length === 2;
    },
    20_000,
    "both missions waiting at their budget step",
  );
  const [approved, rejected] = runs as [string, string];

  await open(page, `/runs/${approved}`);
  await acted(page, "Approve budget", { reason: "the customer pays for this one" });
  await runUntil(d, approved, (r) => r.state === "completed", "the approved mission to complete");
  await open(page, "/costs");
  await acted(page, "Reject", { reason: "not worth the spend" });
  await runUntil(d, rejected, (r) => r.state === "failed", "the rejected mission to fail");

  const audit = async (runId: string) =>
    (await d.api("GET", `/api/audit?targetId=${runId}`, { token: TOKENS.admin })).body.entries[0];
  expect(await audit(approved)).toMatchObject({
    action: "run.approve-budget",
    actor: "operator:budget-owner",
    reason: "the customer pays for this one",
  });
  expect(await audit(rejected)).toMatchObject({ action: "run.reject-budget", reason: "not worth the spend" });
  expect(errors).toEqual([]);
});
