import { setTimeout as delay } from "node:timers/promises";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StepDefinition, TemplateDefinition } from "../../daemon/pipelines/template-types.ts";
import { Agent } from "../../sdk/agent.ts";
import { TaskAbortedError, TaskError } from "../../sdk/task-error.ts";
import type { TaskContext, TaskHandler } from "../../sdk/task-run.ts";
import { call } from "../helpers/api-client.ts";
import { eventually, startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { TOKENS } from "../helpers/test-env.ts";
import { runUntil } from "./helpers.ts";

/**
 * Operator actions on pipeline runs, end to end: a real daemon, in-process SDK agents. Each test has
 * its own template and capabilities, so its agents only ever see its own steps; handlers wait on
 * gates the test opens.
 */

// biome-ignore lint/suspicious/noExplicitAny: tests read API bodies freely.
type Json = any;

let d: TestDaemon;
let db: pg.Client;
const agents: Agent[] = [];
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

beforeAll(async () => {
  d = await startTestDaemon({ OVERSEER_PIPELINE_SWEEP_INTERVAL_MS: "200" });
  db = await namespaceDb(d.namespace);
});
afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop({ graceMs: 200 }).catch(() => {})));
  await db?.end();
  await d?.close();
});

interface Gate {
  promise: Promise<void>;
  open(): void;
  opened: boolean;
}
function gate(): Gate {
  let open!: () => void;
  const g = { opened: false } as Gate;
  g.promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  g.open = () => {
    g.opened = true;
    open();
  };
  return g;
}

/** Resolves when `gate` opens, rejects with the abort reason when the task's signal fires first. */
function waitOrAbort(ctx: TaskContext, g: Gate): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (ctx.signal.aborted) return reject(ctx.signal.reason);
    ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true });
    g.promise.then(resolve);
  });
}

/** A handler that returns `output` once `g` opens (aborts like a well-behaved handler). */
const held =
  (g: Gate, output: unknown = { ok: true }): TaskHandler =>
  async (ctx) => {
    await waitOrAbort(ctx, g);
    return output;
  };
const quick =
  (output: unknown = { ok: true }): TaskHandler =>
  () =>
    output;

async function startAgent(handlers: Record<string, TaskHandler>, concurrency = 4): Promise<Agent> {
  const agent = new Agent({
    url: d.url,
    agentSecret: TOKENS.agentSecret,
    name: `actions-${agents.length}`,
    role: "worker",
    handlers,
    concurrency,
    claimWaitMs: 1_000,
    logger: quiet,
  });
  await agent.start();
  agents.push(agent);
  return agent;
}

const agentStep = (id: string, capability: string, extra: Partial<StepDefinition> = {}): StepDefinition => ({
  id,
  name: `Step ${id}`,
  executor: { kind: "agent", capability },
  ...extra,
});

async function putTemplate(def: TemplateDefinition): Promise<Json> {
  const r = await d.api("PUT", `/api/pipelines/templates/${def.name}`, { body: def });
  expect(r.status, r.text).toBe(201);
  return r.body;
}

async function startRun(template: string, input: Record<string, unknown> = {}): Promise<string> {
  const r = await d.api("POST", `/api/pipelines/${template}/runs`, { body: { input } });
  expect(r.status, r.text).toBe(202);
  return r.body.id;
}

async function view(id: string): Promise<Json> {
  const r = await d.api("GET", `/api/pipelines/runs/${id}`, { token: TOKENS.viewer });
  expect(r.status, r.text).toBe(200);
  return r.body;
}

const act = (id: string, path: string, body: unknown = {}) =>
  d.api("POST", `/api/pipelines/runs/${id}/${path}`, { body });

async function actOk(id: string, path: string, body: unknown = {}): Promise<Json> {
  const r = await act(id, path, body);
  expect(r.status, `${path}: ${r.text}`).toBe(200);
  return r.body;
}

const stepOf = (run: Json, id: string) => run.steps.find((s: { id: string }) => s.id === id);

/** Waits until a step's task has been claimed by an agent (its handler is running). */
const claimed = (id: string, stepId: string) =>
  runUntil(
    d,
    id,
    (r) => stepOf(r, stepId).state === "running" && stepOf(r, stepId).agentId,
    `${stepId} claimed`,
  );

/** The action left an audit row (who, what, on which run) and a timeline event. */
async function expectRecorded(runId: string, kind: string, opts: { actor?: string; reason?: string } = {}) {
  const audit = await db.query(
    `SELECT actor, action, target_kind, reason, data FROM audit_log WHERE target_id = $1 AND action = $2
     ORDER BY id`,
    [runId, `run.${kind}`],
  );
  const rows = audit.rows.filter((r) => opts.reason === undefined || r.reason === opts.reason);
  expect(rows.length, `audit rows of run.${kind}: ${JSON.stringify(audit.rows)}`).toBeGreaterThanOrEqual(1);
  const row = rows.at(-1);
  expect(row).toMatchObject({ actor: opts.actor ?? "operator", target_kind: "pipeline_run" });
  const run = await view(runId);
  const events = run.events.filter((e: { type: string }) => e.type === `action.${kind}`);
  expect(events.length, `timeline events action.${kind}`).toBeGreaterThanOrEqual(1);
  expect(events.at(-1).data.actor).toBe(opts.actor ?? "operator");
  return { audit: row, event: events.at(-1) };
}

async function auditCount(runId: string): Promise<number> {
  const r = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE target_id = $1", [
    runId,
  ]);
  return r.rows[0]?.n ?? 0;
}

describe("pause and resume", () => {
  it("no step starts while paused (a running one may finish); resume completes the run", async () => {
    const gA = gate();
    let bStarted = 0;
    await startAgent({
      "pr.a": held(gA),
      "pr.b": () => {
        bStarted = Date.now();
        return { ok: true };
      },
    });
    await putTemplate({
      name: "pause-resume",
      steps: [agentStep("a", "pr.a"), agentStep("b", "pr.b", { dependsOn: ["a"] })],
    });
    const id = await startRun("pause-resume");
    await claimed(id, "a");

    const paused = await actOk(id, "pause", { reason: "checking something" });
    expect(paused.state).toBe("paused");
    gA.open();
    // The running step finishes and is recorded; the next one does not start.
    const afterA = await runUntil(d, id, (r) => stepOf(r, "a").state === "completed", "a to complete");
    expect(afterA.state).toBe("paused");
    await delay(800); // several sweeps
    const still = await view(id);
    expect(still.state).toBe("paused");
    expect(stepOf(still, "b").state).toBe("pending");
    expect(bStarted).toBe(0);
    // Pausing twice is a conflict.
    expect((await act(id, "pause")).status).toBe(409);

    const resumedAt = Date.now();
    const resumed = await actOk(id, "resume");
    expect(resumed.state).toBe("running");
    const done = await runUntil(d, id, (r) => r.state === "completed", "the run to complete");
    expect(bStarted).toBeGreaterThanOrEqual(resumedAt);
    expect(done.percent).toBe(100);
    await expectRecorded(id, "pause");
    await expectRecorded(id, "resume");
  });

  it("a paused run whose step fails waits for resume while another branch can still run", async () => {
    const gB = gate();
    const gX = gate();
    let cRuns = 0;
    await startAgent({
      "pf.a": quick(),
      "pf.b": async (ctx) => {
        await waitOrAbort(ctx, gB);
        throw new TaskError("b broke", { retryable: false });
      },
      "pf.x": held(gX),
      "pf.c": () => {
        cRuns++;
        return { ok: true };
      },
    });
    await putTemplate({
      name: "pause-fail",
      steps: [
        agentStep("a", "pf.a"),
        agentStep("b", "pf.b", { dependsOn: ["a"] }),
        agentStep("x", "pf.x", { dependsOn: ["a"] }),
        agentStep("c", "pf.c", { dependsOn: ["x"] }),
      ],
    });
    const id = await startRun("pause-fail");
    await claimed(id, "b");
    await claimed(id, "x");
    await actOk(id, "pause");
    gX.open();
    await runUntil(d, id, (r) => stepOf(r, "x").state === "completed", "x to complete");
    gB.open();
    await runUntil(d, id, (r) => stepOf(r, "b").state === "failed", "b to fail");
    await delay(600);
    // c could still run: the run has not failed, it is paused.
    const paused = await view(id);
    expect(paused.state).toBe("paused");
    expect(stepOf(paused, "c").state).toBe("pending");
    expect(cRuns).toBe(0);

    await actOk(id, "resume");
    const failed = await runUntil(d, id, (r) => r.state === "failed", "the run to fail after c");
    expect(stepOf(failed, "c").state).toBe("completed");
    expect(cRuns).toBe(1);
    expect(failed.error.failedSteps).toEqual(["b"]);
  });
});

describe("cancel", () => {
  it("aborts the running handler, cancels run, step and task; a late complete gets 409", async () => {
    const started = gate();
    let abortReason: unknown;
    const aborted = gate();
    const agent = await startAgent({
      "cx.a": async (ctx) => {
        started.open();
        await new Promise<void>((resolve) =>
          ctx.signal.addEventListener("abort", () => resolve(), { once: true }),
        );
        abortReason = ctx.signal.reason;
        aborted.open();
        throw ctx.signal.reason;
      },
      "cx.b": quick(),
    });
    await putTemplate({
      name: "cancel-me",
      steps: [agentStep("a", "cx.a"), agentStep("b", "cx.b", { dependsOn: ["a"] })],
    });
    const id = await startRun("cancel-me");
    await started.promise;
    const before = await claimed(id, "a");
    const taskId = stepOf(before, "a").taskId as string;

    const cancelled = await actOk(id, "cancel", { reason: "no longer needed" });
    expect(cancelled.state).toBe("cancelled");
    expect(cancelled.finishedAt).toEqual(expect.any(String));

    // The cancel command reaches the agent with its next heartbeat; the handler's signal fires.
    await Promise.race([
      aborted.promise,
      delay(5_000).then(() => {
        throw new Error("the handler's signal never fired");
      }),
    ]);
    expect(abortReason).toBeInstanceOf(TaskAbortedError);
    expect((abortReason as TaskAbortedError).abortCause).toBe("cancelled");

    const run = await view(id);
    expect(run.state).toBe("cancelled");
    expect(stepOf(run, "a").state).toBe("cancelled");
    expect(stepOf(run, "b").state).toBe("cancelled");
    const task = await d.api("GET", `/api/tasks/${taskId}`, { token: TOKENS.viewer });
    expect(task.status).toBe(200);
    expect(task.body.state).toBe("cancelled");
    expect(task.body.attempts.at(-1).outcome).toBe("cancelled");

    // The agent held the lease; its late report is refused.
    const lease = await db.query<{ lease_token: string }>(
      "SELECT lease_token FROM task_attempts WHERE task_id = $1 ORDER BY attempt DESC LIMIT 1",
      [taskId],
    );
    const agentToken = (agent as unknown as { session: { token: string } }).session.token;
    const late = await d.api("POST", `/api/tasks/${taskId}/complete`, {
      token: agentToken,
      body: { leaseToken: lease.rows[0]?.lease_token, result: { late: true } },
    });
    expect(late.status, late.text).toBe(409);
    expect((await d.api("GET", `/api/tasks/${taskId}`)).body.state).toBe("cancelled");

    const { audit } = await expectRecorded(id, "cancel", { reason: "no longer needed" });
    expect(audit.data).toEqual({ reason: "no longer needed" });
    expect(run.events.map((e: { type: string }) => e.type)).not.toContain("run.failed");
  });
});

describe("retry a failed step", () => {
  it("a non-retryable failure fails the run; retry-step runs a new generation and the run completes", async () => {
    let calls = 0;
    await startAgent({
      "rt.a": () => {
        calls++;
        if (calls === 1) throw new TaskError("x", { retryable: false });
        return { attempt: calls };
      },
      "rt.b": quick(),
    });
    await putTemplate({
      name: "retry-me",
      steps: [agentStep("a", "rt.a"), agentStep("b", "rt.b", { dependsOn: ["a"] })],
    });
    const id = await startRun("retry-me");
    const failed = await runUntil(d, id, (r) => r.state === "failed", "the run to fail");
    expect(stepOf(failed, "a")).toMatchObject({ state: "failed", generation: 0 });
    expect(stepOf(failed, "a").error).toMatchObject({ message: "x" });
    expect(stepOf(failed, "b").state).toBe("pending");
    expect(failed.error.failedSteps).toEqual(["a"]);
    const firstTask = stepOf(failed, "a").taskId;
    expect(calls).toBe(1);

    // Only a failed step can be retried.
    expect((await act(id, "steps/b/retry")).status).toBe(409);
    const retried = await actOk(id, "steps/a/retry", { reason: "flaky upstream" });
    expect(retried.state).toBe("running");
    expect(retried.error).toBeNull();
    const done = await runUntil(d, id, (r) => r.state === "completed", "the run to complete after retry");
    expect(stepOf(done, "a")).toMatchObject({ state: "completed", generation: 1, output: { attempt: 2 } });
    expect(stepOf(done, "a").taskId).not.toBe(firstTask);
    expect(stepOf(done, "b").state).toBe("completed");
    expect(done.finishedAt).toEqual(expect.any(String));
    const types = done.events.map((e: { type: string }) => e.type);
    expect(types.indexOf("run.failed")).toBeLessThan(types.indexOf("action.retry-step"));
    expect(types.at(-1)).toBe("run.completed");
    const { event } = await expectRecorded(id, "retry-step");
    expect(event.stepId).toBe("a");
  });
});

describe("skip a step", () => {
  it("skips a pending and a running step with reasons; the run goes on", async () => {
    const gA = gate();
    let aAborted = false;
    let bRuns = 0;
    await startAgent({
      "sk.a": async (ctx) => {
        try {
          await waitOrAbort(ctx, gA);
        } catch (e) {
          aAborted = true;
          throw e;
        }
        return { ok: true };
      },
      "sk.b": () => {
        bRuns++;
        return {};
      },
      "sk.c": quick({ c: true }),
    });
    await putTemplate({
      name: "skip-me",
      steps: [
        agentStep("a", "sk.a"),
        agentStep("b", "sk.b", { dependsOn: ["a"] }),
        agentStep("c", "sk.c", { dependsOn: ["b"] }),
      ],
    });
    const id = await startRun("skip-me");
    await claimed(id, "a");
    const s1 = await actOk(id, "steps/b/skip", { reason: "b is not needed" });
    expect(s1.state).toBe("running");
    await actOk(id, "steps/a/skip", { reason: "a takes too long" });
    const done = await runUntil(d, id, (r) => r.state === "completed", "the run to complete");
    expect(stepOf(done, "a")).toMatchObject({ state: "skipped", skipReason: "a takes too long" });
    expect(stepOf(done, "b")).toMatchObject({ state: "skipped", skipReason: "b is not needed" });
    expect(stepOf(done, "c")).toMatchObject({ state: "completed", output: { c: true } });
    expect(bRuns).toBe(0);
    // The running step's task was cancelled: its handler was told to stop.
    await eventually(async () => aAborted, 5_000, "a's handler to be aborted");
    const { audit } = await expectRecorded(id, "skip-step", { reason: "a takes too long" });
    expect(audit.data).toEqual({ stepId: "a", reason: "a takes too long" });
    // A completed step cannot be skipped (nor anything on a completed run).
    expect((await act(id, "steps/c/skip", { reason: "late" })).status).toBe(409);
  });
});

describe("snooze", () => {
  it("holds the run until the given time, then it resumes by itself", async () => {
    const gA = gate();
    let bStarted = 0;
    await startAgent({
      "sn.a": held(gA),
      "sn.b": () => {
        bStarted = Date.now();
        return {};
      },
    });
    await putTemplate({
      name: "snooze-me",
      steps: [agentStep("a", "sn.a"), agentStep("b", "sn.b", { dependsOn: ["a"] })],
    });
    const id = await startRun("snooze-me");
    await claimed(id, "a");
    const until = new Date(Date.now() + 1_000);
    const snoozed = await actOk(id, "snooze", { until: until.toISOString() });
    expect(snoozed.state).toBe("snoozed");
    expect(snoozed.snoozedUntil).toBe(until.toISOString());
    gA.open();
    const mid = await runUntil(d, id, (r) => stepOf(r, "a").state === "completed", "a to complete");
    // (Read before the snooze ended, unless this machine is very slow.)
    if (Date.now() < until.getTime()) {
      expect(mid.state).toBe("snoozed");
      expect(stepOf(mid, "b").state).toBe("pending");
      // Step b cannot start before the snooze ends, so neither can the run end.
      if (mid.eta.at !== null) expect(Date.parse(mid.eta.at)).toBeGreaterThanOrEqual(until.getTime());
    }

    const done = await runUntil(
      d,
      id,
      (r) => r.state === "completed",
      "the run to wake and complete",
      10_000,
    );
    expect(bStarted).toBeGreaterThanOrEqual(until.getTime());
    expect(done.snoozedUntil).toBeNull();
    // A finished run's ETA is when it finished, not when it was read.
    expect(done.eta).toEqual({ remainingMs: 0, at: done.finishedAt, method: "none" });
    const resumed = done.events.find((e: { type: string }) => e.type === "run.resumed");
    expect(resumed?.data).toEqual({ reason: "snooze ended" });
    const { audit } = await expectRecorded(id, "snooze");
    expect(audit.data).toEqual({ until: until.toISOString() });
  });
});

describe("escalate", () => {
  it("raises the run's priority, marks it escalated and moves its queued step task up", async () => {
    // No agent takes esc.a: the step's task stays queued.
    await putTemplate({ name: "escalate-me", steps: [agentStep("a", "esc.a")] });
    const id = await startRun("escalate-me");
    const running = await runUntil(d, id, (r) => stepOf(r, "a").taskId, "a's task");
    const taskId = stepOf(running, "a").taskId;
    expect(running).toMatchObject({ priority: 0, escalated: false });
    expect((await d.api("GET", `/api/tasks/${taskId}`)).body).toMatchObject({ state: "queued", priority: 0 });

    const escalated = await actOk(id, "escalate", { reason: "customer waiting" });
    expect(escalated).toMatchObject({ priority: 100, escalated: true, state: "running" });
    expect((await d.api("GET", `/api/tasks/${taskId}`)).body.priority).toBe(100);
    const higher = await actOk(id, "escalate", { priority: 900 });
    expect(higher.priority).toBe(900);
    expect((await view(id)).priority).toBe(900);
    // Capped at the maximum priority.
    expect((await actOk(id, "escalate")).priority).toBe(1000);
    await expectRecorded(id, "escalate", { reason: "customer waiting" });
    await actOk(id, "cancel");
  });
});

describe("modify the input of a step", () => {
  it("changes the params of a step that has not started; 409 once it has", async () => {
    const gA = gate();
    let seen: unknown;
    await startAgent({
      "mi.a": held(gA),
      "mi.b": (ctx) => {
        seen = (ctx.payload as { params?: unknown }).params;
        return { ok: true };
      },
    });
    await putTemplate({
      name: "modify-me",
      steps: [
        agentStep("a", "mi.a"),
        agentStep("b", "mi.b", { dependsOn: ["a"], params: { mode: "fast", keep: 1 } }),
      ],
    });
    const id = await startRun("modify-me");
    await claimed(id, "a");
    const changed = await actOk(id, "steps/b/input", { params: { mode: "careful", extra: [1, 2] } });
    expect(changed.state).toBe("running");
    expect(stepOf(await view(id), "b").inputOverride).toEqual({ mode: "careful", extra: [1, 2] });
    // a is running: too late for it.
    const late = await act(id, "steps/a/input", { params: { x: 1 } });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe("OVS_ERR_RUN_STATE_CONFLICT");

    gA.open();
    await runUntil(d, id, (r) => r.state === "completed", "the run to complete");
    expect(seen).toEqual({ mode: "careful", keep: 1, extra: [1, 2] });
    const { audit, event } = await expectRecorded(id, "modify-input");
    expect(audit.data).toEqual({ stepId: "b", params: { mode: "careful", extra: [1, 2] } });
    expect(event.stepId).toBe("b");
  });
});

describe("refused actions", () => {
  it("actions on finished runs are 409, unknown runs and steps 404, bad bodies 400, none audited", async () => {
    await startAgent({ "rf.a": quick() });
    await putTemplate({ name: "refuse-me", steps: [agentStep("a", "rf.a")] });
    const completed = await startRun("refuse-me");
    await runUntil(d, completed, (r) => r.state === "completed", "the run to complete");
    const cancelled = await startRun("escalate-me"); // no agent: stays running until cancelled
    await actOk(cancelled, "cancel");

    const future = new Date(Date.now() + 60_000).toISOString();
    const all: Array<[string, unknown]> = [
      ["pause", {}],
      ["resume", {}],
      ["cancel", {}],
      ["snooze", { until: future }],
      ["escalate", {}],
      ["steps/a/retry", {}],
      ["steps/a/skip", { reason: "r" }],
      ["steps/a/input", { params: { x: 1 } }],
    ];
    for (const id of [completed, cancelled]) {
      const audits = await auditCount(id);
      for (const [path, body] of all) {
        const r = await act(id, path, body);
        expect(r.status, `${path} on a finished run: ${r.text}`).toBe(409);
        expect(r.body.error.code).toBe("OVS_ERR_RUN_STATE_CONFLICT");
      }
      expect(await auditCount(id)).toBe(audits);
    }

    const ghost = "00000000-0000-4000-8000-000000000000";
    for (const [path, body] of all) {
      const r = await act(ghost, path, body);
      expect(r.status, `${path} on an unknown run`).toBe(404);
      expect(r.body.error.code).toBe("OVS_ERR_RUN_NOT_FOUND");
    }
    expect((await d.api("GET", `/api/pipelines/runs/${ghost}`)).status).toBe(404);

    const open = await startRun("escalate-me");
    await runUntil(d, open, (r) => stepOf(r, "a").state === "running", "a to start");
    const audits = await auditCount(open);
    for (const [path, body] of [
      ["steps/nope/retry", {}],
      ["steps/nope/skip", { reason: "r" }],
      ["steps/nope/input", { params: {} }],
    ] as Array<[string, unknown]>) {
      const r = await act(open, path, body);
      expect(r.status, `${path}: ${r.text}`).toBe(404);
      expect(r.body.error.code).toBe("OVS_ERR_STEP_NOT_FOUND");
    }
    for (const [path, body] of [
      ["snooze", { until: "tomorrow" }],
      ["snooze", { until: "2024-13-45T99:00:00Z" }],
      ["snooze", {}],
      ["snooze", { until: new Date(Date.now() - 60_000).toISOString() }],
      ["steps/a/skip", {}],
      ["steps/a/skip", { reason: "" }],
      ["escalate", { priority: -1 }],
      ["escalate", { priority: 1_000_000 }],
      ["steps/a/input", {}],
      ["steps/a/input", { params: [1] }],
      ["pause", { unexpected: true }],
    ] as Array<[string, unknown]>) {
      const r = await act(open, path, body);
      expect(r.status, `${path} ${JSON.stringify(body)}: ${r.text}`).toBe(400);
    }
    // A bad id in the path is a 400 too.
    expect((await act("not-a-uuid", "pause")).status).toBe(400);
    expect(await auditCount(open)).toBe(audits);
    const still = await view(open);
    expect(still.state).toBe("running");
    expect(still.events.filter((e: { type: string }) => e.type.startsWith("action."))).toEqual([]);

    // The audit names a named actor.
    const named = await call(d.url, "POST", `/api/pipelines/runs/${open}/cancel`, {
      token: TOKENS.operator,
      body: {},
      headers: { "x-overseer-actor": "alice" },
    });
    expect(named.status).toBe(200);
    await expectRecorded(open, "cancel", { actor: "operator:alice" });
    // A viewer may not act.
    expect(
      (await d.api("POST", `/api/pipelines/runs/${open}/pause`, { token: TOKENS.viewer, body: {} })).status,
    ).toBe(403);
  });
});

describe("progress", () => {
  it("is monotonic over polls and ends at 100", async () => {
    const work: TaskHandler = async (ctx) => {
      for (const pct of [20, 40, 60, 80, 100]) {
        await delay(40);
        await ctx.progress(pct, `at ${pct}`);
      }
      return { ok: true };
    };
    await startAgent({ "pg.a": work, "pg.b": work, "pg.c": work });
    await putTemplate({
      name: "progress-me",
      steps: [
        agentStep("a", "pg.a"),
        agentStep("b", "pg.b", { dependsOn: ["a"], weight: 2 }),
        agentStep("c", "pg.c", { dependsOn: ["a"] }),
      ],
    });
    const id = await startRun("progress-me");
    const seen: number[] = [];
    let last: Json;
    const deadline = Date.now() + 20_000;
    for (;;) {
      last = await view(id);
      seen.push(last.percent);
      if (last.state === "completed" || Date.now() > deadline) break;
      await delay(20);
    }
    expect(last.state).toBe("completed");
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i], `poll ${i}: ${seen.join(", ")}`).toBeGreaterThanOrEqual(seen[i - 1] as number);
    }
    expect(seen.at(-1)).toBe(100);
    expect(seen.slice(0, -1).every((p) => p < 100)).toBe(true);
    // Steps' own reports moved it in between, not just step completions.
    expect(seen.filter((p) => p > 0 && p < 100).length).toBeGreaterThan(2);
    expect(last.eta.remainingMs).toBe(0);
  });
});

describe("user templates", () => {
  const flow = (extra: Partial<TemplateDefinition> = {}): TemplateDefinition => ({
    name: "custom-flow",
    description: "a user template",
    parameters: { topic: { type: "string", required: true } },
    steps: [agentStep("draft", "uf.draft"), agentStep("check", "uf.check", { dependsOn: ["draft"] })],
    ...extra,
  });

  it("PUT stores versions, refuses invalid and built-in templates; a run records the version it ran", async () => {
    const gDraft = gate();
    await startAgent({
      "uf.draft": held(gDraft, { text: "draft" }),
      "uf.check": quick({ checked: true }),
      "uf.extra": quick(),
    });

    const v1 = await d.api("PUT", "/api/pipelines/templates/custom-flow", { body: flow() });
    expect(v1.status, v1.text).toBe(201);
    expect(v1.body).toMatchObject({ name: "custom-flow", version: 1, source: "api", created: true });
    const same = await d.api("PUT", "/api/pipelines/templates/custom-flow", { body: flow() });
    expect(same.status, same.text).toBe(200);
    expect(same.body).toMatchObject({ version: 1, created: false });

    // A run on version 1, held in its first step while version 2 is stored.
    const onV1 = await startRun("custom-flow", { topic: "pipelines" });
    await claimed(onV1, "draft");

    const v2Def = flow({
      steps: [...flow().steps, agentStep("extra", "uf.extra", { dependsOn: ["check"] })],
    });
    const v2 = await d.api("PUT", "/api/pipelines/templates/custom-flow", { body: v2Def });
    expect(v2.status, v2.text).toBe(201);
    expect(v2.body).toMatchObject({ version: 2, created: true });

    const cyclic = flow({
      steps: [
        agentStep("draft", "uf.draft", { dependsOn: ["check"] }),
        agentStep("check", "uf.check", { dependsOn: ["draft"] }),
      ],
    });
    const bad = await d.api("PUT", "/api/pipelines/templates/custom-flow", { body: cyclic });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("OVS_ERR_TEMPLATE_INVALID");
    expect(bad.body.error.details.problems).toEqual(["steps form a cycle (dependsOn must be a DAG)"]);
    const badNew = await d.api("PUT", "/api/pipelines/templates/never-stored", {
      body: { ...cyclic, name: "never-stored" },
    });
    expect(badNew.status).toBe(400);
    expect((await d.api("GET", "/api/pipelines/templates/never-stored")).status).toBe(404);
    const latest = await d.api("GET", "/api/pipelines/templates/custom-flow");
    expect(latest.body.version).toBe(2);
    expect(latest.body.definition.steps).toHaveLength(3);
    const stored = await db.query("SELECT version FROM pipeline_templates WHERE name = 'custom-flow'");
    expect(stored.rows.map((r) => r.version).sort()).toEqual([1, 2]);

    const builtin = await d.api("PUT", "/api/pipelines/templates/mission", {
      body: { name: "mission", steps: [agentStep("only", "x.only")] },
    });
    expect(builtin.status).toBe(409);
    expect(builtin.body.error.code).toBe("OVS_ERR_TEMPLATE_BUILTIN");
    expect((await d.api("GET", "/api/pipelines/templates/mission")).body.version).toBe(1);

    const onV2 = await startRun("custom-flow", { topic: "versions" });
    gDraft.open();
    const r1 = await runUntil(d, onV1, (r) => r.state === "completed", "the v1 run to complete");
    const r2 = await runUntil(d, onV2, (r) => r.state === "completed", "the v2 run to complete");
    expect(r1.templateVersion).toBe(1);
    expect(r1.steps.map((s: { id: string }) => s.id)).toEqual(["draft", "check"]);
    expect(r2.templateVersion).toBe(2);
    expect(r2.steps.map((s: { id: string }) => s.id)).toEqual(["draft", "check", "extra"]);
    expect(r2.events[0]).toMatchObject({ type: "run.started", data: { version: 2 } });
    const listed = await d.api("GET", "/api/pipelines/runs?template=custom-flow");
    expect(listed.body.runs.map((r: { templateVersion: number }) => r.templateVersion).sort()).toEqual([
      1, 2,
    ]);
  });
});

describe("built-in templates", () => {
  it("a daemon starting on the same data stores no new version of an unchanged template", async () => {
    const before = await db.query("SELECT name, version FROM pipeline_templates ORDER BY name, version");
    // A second replica on the same namespace saves the built-in templates again at start.
    const replica = await startTestDaemon({ OVERSEER_PIPELINE_SWEEP_INTERVAL_MS: "200" }, d.namespace);
    try {
      const after = await db.query("SELECT name, version FROM pipeline_templates ORDER BY name, version");
      expect(after.rows).toEqual(before.rows);
      expect((await d.api("GET", "/api/pipelines/templates/mission")).body.version).toBe(1);
      expect((await d.api("GET", "/api/pipelines/templates/story")).body.version).toBe(1);
    } finally {
      await replica.close({ keepData: true });
    }
  });
});
