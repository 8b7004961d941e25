import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pageErrors, screenshot, signIn } from "../helpers/browser.ts";
import { consoleSuite } from "../helpers/console-daemon.ts";
import { act, acted, open } from "../helpers/console-levers.ts";
import { eventually } from "../helpers/daemon-harness.ts";
import { TOKENS } from "../helpers/test-env.ts";

/**
 * Every lever performed through the console's page in Chromium, as an operator or admin would:
 * open the page, press the button, give a reason, confirm (after a dry run where the API has one).
 * Each effect is then checked through the API, and the audit entry the page showed as its receipt
 * is checked against the audit log. A viewer is offered no lever, and is refused when forcing one.
 */
const suite = consoleSuite();
const errors: string[] = [];
const pages: Partial<Record<"viewer" | "operator" | "admin", Page>> = {};

beforeAll(async () => {
  for (const role of ["viewer", "operator", "admin"] as const) {
    const page = await suite.browser.newPage({ viewport: { width: 1400, height: 1000 } });
    errors.push(...pageErrors(page));
    await signIn(page, suite.d.url, TOKENS[role], `${role}-in-browser`);
    pages[role] = page;
  }
}, 60_000);
afterAll(async () => {
  for (const p of Object.values(pages)) await p?.close();
});

const api = (method: string, path: string, body?: unknown, token = TOKENS.admin) =>
  suite.d.api(method, path, { body, token });

/** The audit log's newest entry for a target and action: what the receipt must match. */
async function audited(targetId: string, action: string) {
  const r = await api("GET", `/api/audit?targetId=${targetId}&action=${action}`);
  expect(r.status).toBe(200);
  expect(r.body.entries.length, `audit ${action} on ${targetId}`).toBeGreaterThan(0);
  return r.body.entries[0];
}

async function submit(type: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await api("POST", "/api/tasks", { type, payload: {}, ...extra }, TOKENS.operator);
  expect(r.status).toBe(202);
  return r.body.id as string;
}

describe("tasks", () => {
  it("reprioritises and cancels a queued task through its page", async () => {
    const page = pages.operator as Page;
    const id = await submit("console.idle");
    await open(page, `/tasks/${id}`);
    const prio = await acted(page, "Change priority", {
      fields: { "New priority": "700" },
      reason: "urgent customer",
    });
    expect((await api("GET", `/api/tasks/${id}`)).body.priority).toBe(700);
    expect(prio).toMatchObject({
      action: (await audited(id, prio.action)).action,
      actor: "operator:operator-in-browser",
    });

    const cancel = await acted(page, "Cancel", { reason: "not needed any more" });
    expect((await api("GET", `/api/tasks/${id}`)).body.state).toBe("cancelled");
    const entry = await audited(id, cancel.action);
    expect(entry.reason).toBe("not needed any more");
    expect(cancel.reason).toBe("not needed any more");
  });

  it("retries a dead task and reassigns an active one", async () => {
    const page = pages.operator as Page;
    const d = suite.d;
    const a = await d.registerAgent("worker-a", ["console.work"], { role: "worker", concurrency: 2 });
    const b = await d.registerAgent("worker-b", ["console.work"], { role: "worker" });
    const dead = await submit("console.work", { maxAttempts: 1 });
    const claim = await d.api("POST", `/api/agents/${a.id}/claim`, {
      token: a.token,
      body: { max: 1, waitMs: 2000 },
    });
    const leased = claim.body.tasks.find((t: { id: string }) => t.id === dead);
    expect(leased).toBeDefined();
    await d.api("POST", `/api/tasks/${dead}/fail`, {
      token: a.token,
      body: { leaseToken: leased.leaseToken, error: { message: "boom", retryable: false } },
    });
    expect(["dead", "failed"]).toContain((await api("GET", `/api/tasks/${dead}`)).body.state);
    await open(page, `/tasks/${dead}`);
    const retry = await acted(page, "Retry");
    expect((await api("GET", `/api/tasks/${dead}`)).body.state).toBe("queued");
    expect(retry.target).toContain(dead);
    await audited(dead, retry.action);

    // Agent a takes it again; the page hands it to agent b.
    const again = await d.api("POST", `/api/agents/${a.id}/claim`, {
      token: a.token,
      body: { max: 1, waitMs: 2000 },
    });
    expect(again.body.tasks.map((t: { id: string }) => t.id)).toContain(dead);
    await open(page, `/tasks/${dead}`);
    const reassign = await acted(page, "Reassign", {
      fields: { "To agent": `worker-b (worker, ${b.id})` },
      reason: "worker-a is slow",
    });
    await audited(dead, reassign.action);
    const got = await d.api("POST", `/api/agents/${b.id}/claim`, {
      token: b.token,
      body: { max: 1, waitMs: 3000 },
    });
    expect(got.body.tasks.map((t: { id: string }) => t.id)).toContain(dead);
  });
});

describe("agents", () => {
  it("drains an agent through its page: the agent is told so in its next heartbeat answer", async () => {
    const page = pages.operator as Page;
    const agent = await suite.d.registerAgent("drain-me", ["console.drain"], {
      role: "drainer",
      silent: true,
    });
    await open(page, `/agents/${agent.id}`);
    const drain = await acted(page, "Drain", { reason: "host maintenance" });
    await audited(agent.id, drain.action);
    const beat = await suite.d.api("POST", `/api/agents/${agent.id}/heartbeat`, {
      token: agent.token,
      body: { status: "active", load: 0, activeTaskIds: [] },
    });
    expect(JSON.stringify(beat.body)).toContain("drain");

    await open(page, `/agents/${agent.id}`);
    const restart = await acted(page, "Restart", { reason: "stuck after the drain" });
    expect([drain.action, restart.action]).toEqual(["agent.drain", "agent.restart"]);
    expect((await audited(agent.id, restart.action)).reason).toBe("stuck after the drain");
  });
});

describe("runs", () => {
  it("pauses, resumes, escalates and cancels a run through its page", async () => {
    const page = pages.operator as Page;
    // No agent serves the story's steps here: the run waits on its first step until cancelled.
    const started = await api(
      "POST",
      "/api/pipelines/story/runs",
      { input: { story: "console" } },
      TOKENS.operator,
    );
    expect(started.status).toBe(202);
    const runId = started.body.id as string;
    await open(page, `/runs/${runId}`);
    await screenshot(page, "run-timeline");
    const state = async () => (await api("GET", `/api/pipelines/runs/${runId}`)).body.state;

    const pause = await acted(page, "Pause", { reason: "checking inputs" });
    expect(await state()).toBe("paused");
    // The reason the operator gave is the one the audit log keeps.
    expect((await audited(runId, pause.action)).reason).toBe("checking inputs");
    await open(page, `/runs/${runId}`);
    const resume = await acted(page, "Resume", { reason: "inputs fine" });
    expect(await state()).toBe("running");
    await audited(runId, resume.action);
    await open(page, `/runs/${runId}`);
    const escalate = await acted(page, "Escalate", { fields: { "New priority": "900" }, reason: "deadline" });
    expect((await api("GET", `/api/pipelines/runs/${runId}`)).body.priority).toBe(900);
    await audited(runId, escalate.action);
    await open(page, `/runs/${runId}`);
    const skip = await acted(page, "Skip", { reason: "requirements are known" });
    expect(skip.action).toBe("run.skip-step");
    await eventually(
      async () =>
        (await api("GET", `/api/pipelines/runs/${runId}`)).body.steps?.find(
          (x: { id: string }) => x.id === "requirements",
        )?.state === "skipped",
      5_000,
      "the requirements step skipped",
    );
    await open(page, `/runs/${runId}`);
    const snooze = await acted(page, "Snooze");
    expect(await state()).toBe("snoozed");
    expect(snooze.action).toBe("run.snooze");
    await open(page, `/runs/${runId}`);
    const cancel = await acted(page, "Cancel run", { reason: "no longer wanted" });
    expect(await state()).toBe("cancelled");
    await audited(runId, cancel.action);
  });
});

describe("a failed step", () => {
  it("retries it through the run's page: a new generation runs, and the run is running again", async () => {
    const page = pages.operator as Page;
    const d = suite.d;
    const started = await api(
      "POST",
      "/api/pipelines/story/runs",
      { input: { story: "fails once" } },
      TOKENS.operator,
    );
    const runId = started.body.id as string;
    // An agent for the story's first step fails it for good.
    const pm = await d.registerAgent("pm-fails", ["story.pm"], { role: "pm" });
    const claim = await d.api("POST", `/api/agents/${pm.id}/claim`, {
      token: pm.token,
      body: { max: 1, waitMs: 5000 },
    });
    const task = claim.body.tasks[0];
    expect(task).toBeDefined();
    await d.api("POST", `/api/tasks/${task.id}/fail`, {
      token: pm.token,
      body: { leaseToken: task.leaseToken, error: { message: "no requirements given", retryable: false } },
    });
    const step = async () =>
      (await api("GET", `/api/pipelines/runs/${runId}`)).body.steps.find(
        (x: { id: string }) => x.id === "requirements",
      );
    await eventually(async () => (await step())?.state === "failed", 5_000, "the first step to fail");
    await open(page, `/runs/${runId}`);
    const retry = await acted(page, "Retry", { reason: "requirements added" });
    expect(retry.action).toBe("run.retry-step");
    expect((await audited(runId, retry.action)).reason).toBe("requirements added");
    const again = await step();
    expect(again.state === "running" || again.state === "pending").toBe(true);
    expect(again.generation).toBe(1);
    expect((await api("GET", `/api/pipelines/runs/${runId}`)).body.state).toBe("running");
    pm.silence();
  });
});

describe("overrides", () => {
  it("pulls an emergency override through dry run, impact and confirmation, then undoes it", async () => {
    const page = pages.admin as Page;
    await submit("console.held");
    await open(page, "/overrides");
    const executed = await acted(page, "New emergency override", {
      fields: { Override: "stop_all_tasks" },
      reason: "runaway agent loop",
      dryRun: true,
      shot: "override-confirm",
    });
    const list = await api("GET", "/api/dashboard/system/overrides?state=active");
    const active = list.body.overrides.find((o: { action: string }) => o.action === "stop_all_tasks");
    expect(active).toMatchObject({
      state: "active",
      reason: "runaway agent loop",
      actor: "admin:admin-in-browser",
    });
    expect(executed.action).toBe("override.stop_all_tasks");
    await audited(active.id, "override.stop_all_tasks");

    await open(page, "/overrides");
    await screenshot(page, "overrides");
    const undo = await acted(page, "Undo", { reason: "loop fixed" });
    expect(
      (await api("GET", "/api/dashboard/system/overrides?state=undone")).body.overrides.map(
        (o: { id: string }) => o.id,
      ),
    ).toContain(active.id);
    expect(undo.action).toBe("override.undo");
  });
});

describe("schedules", () => {
  it("pauses, resumes and deletes a schedule through its page", async () => {
    const page = pages.operator as Page;
    const created = await api(
      "POST",
      "/api/schedules",
      { name: "console-nightly", template: "story", cron: "0 3 * * *", input: { story: "nightly" } },
      TOKENS.operator,
    );
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const state = async () => (await api("GET", `/api/schedules/${id}`)).body.state;
    await open(page, `/schedules?id=${id}`);
    const pause = await acted(page, "Pause", { reason: "quiet week" });
    expect(await state()).toBe("paused");
    expect((await audited(id, pause.action)).reason).toBe("quiet week");
    await open(page, `/schedules?id=${id}`);
    await acted(page, "Resume", { reason: "back" });
    expect(await state()).toBe("active");
    await open(page, `/schedules?id=${id}`);
    const del = await acted(page, "Delete");
    expect((await api("GET", `/api/schedules/${id}`)).status).toBe(404);
    expect(del.action).toBe("schedule.delete");
  });
});

describe("coordination", () => {
  it("runs auto-heal and a coordination reset through their dry runs and confirmations", async () => {
    await open(pages.operator as Page, "/coordination");
    // Nothing is broken here: the plan is empty, the pass runs, and no entry is invented for it.
    await act(pages.operator as Page, "Auto-heal", { dryRun: true, unaudited: true });
    const page = pages.admin as Page;
    await open(page, "/coordination");
    const reset = await acted(page, "Reset coordination", {
      fields: { Level: "soft" },
      reason: "after the Redis failover",
      dryRun: true,
    });
    expect(reset.reason).toBe("after the Redis failover");
    const entries = (await api("GET", `/api/audit?action=${reset.action}`)).body.entries;
    expect(entries[0]).toMatchObject({ actor: "admin:admin-in-browser", reason: "after the Redis failover" });
  });
});

describe("a viewer", () => {
  it("is offered no lever, and is refused when forcing one from the page", async () => {
    const page = pages.viewer as Page;
    const id = await submit("console.viewer");
    await open(page, `/tasks/${id}`);
    await expect(page.locator("main .actions button").count()).resolves.toBe(0);
    await expect(page.getByText(/may not act here/).count()).resolves.toBeGreaterThan(0);
    await open(page, "/overrides");
    await expect(
      page.locator("main").getByRole("button", { name: "New emergency override" }).count(),
    ).resolves.toBe(0);
    await screenshot(page, "overrides-viewer");
    // Forcing it: the page's own token, sent by hand.
    const forced = (await page.evaluate(`(async () => {
      const token = sessionStorage.getItem("overseer.console.token");
      const r = await fetch("../api/tasks/${id}/cancel", {
        method: "POST",
        headers: { authorization: "Bearer " + token, "content-type": "application/json" },
        body: JSON.stringify({ reason: "forced" }),
      });
      return { status: r.status, body: await r.json() };
    })()`)) as { status: number; body: { error: { code: string } } };
    expect(forced.status).toBe(403);
    expect(forced.body.error.code).toBe("OVS_ERR_FORBIDDEN");
    expect((await api("GET", `/api/tasks/${id}`)).body.state).toBe("queued");
    expect((await api("GET", `/api/audit?targetId=${id}`)).body.entries).toEqual([]);
  });
});

it("had no page errors", () => {
  expect(errors).toEqual([]);
});
