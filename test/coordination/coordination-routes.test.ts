import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "../helpers/api-client.ts";
import { eventually, startTestDaemon, type TestAgent, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { TOKENS } from "../helpers/test-env.ts";

let d: TestDaemon;

beforeAll(async () => {
  // Many control calls in a row here: the per-token rate limit is not what this file tests. A
  // silent agent stays stale (not dead) for a minute, so a hard reset has a stale holder to act on.
  d = await startTestDaemon({
    OVERSEER_CONTROL_RATE_BURST: "10000",
    OVERSEER_CONTROL_RATE_PER_MINUTE: "100000",
    OVERSEER_AGENT_DEAD_AFTER_MS: "60000",
  });
});
afterAll(async () => {
  await d?.close();
});

const claim = (agent: TestAgent, max = 1, waitMs = 0) =>
  d.api("POST", `/api/agents/${agent.id}/claim`, { token: agent.token, body: { max, waitMs } });
const as = (token: string | null) => ({ token });
const code = (r: { body: { error?: { code: string } } }) => r.body?.error?.code;

describe("coordination endpoints", () => {
  it("answer an empty system honestly: no rate, no trend, zero counts", async () => {
    const r = await d.api("GET", "/api/dashboard/coordination/success-rate", as(TOKENS.viewer));
    expect(r.status).toBe(200);
    expect(r.body.live).toMatchObject({ completed: 0, failed: 0, rate: null, trend: null });
    for (const w of ["1h", "24h", "7d"])
      expect(r.body.windows[w]).toMatchObject({ ended: 0, rate: null, trend: null });
    expect(r.body.hourly).toHaveLength(24);
    expect(
      r.body.hourly.every((h: { completed: number; rate: null }) => h.completed === 0 && h.rate === null),
    ).toBe(true);
    const f = await d.api("GET", "/api/dashboard/coordination/failures", as(TOKENS.viewer));
    expect(f.status).toBe(200);
    expect(f.body).toMatchObject({ window: "24h", total: 0, unclassified: 0 });
    expect(
      f.body.classes.every((c: { count: number; share: null }) => c.count === 0 && c.share === null),
    ).toBe(true);
    const logs = await d.api("GET", "/api/dashboard/logs/coordination", as(TOKENS.viewer));
    expect(logs.body).toMatchObject({ total: 0, groups: [] });
  });

  it("reject bad input with a 4xx and a code", async () => {
    const cases: Array<[string, string, unknown, number, string]> = [
      ["GET", "/api/dashboard/coordination/failures?window=2h", undefined, 400, "OVS_ERR_VALIDATION"],
      ["GET", "/api/dashboard/logs/coordination?window=1y", undefined, 400, "OVS_ERR_VALIDATION"],
      ["GET", "/api/dashboard/logs/coordination?limit=0", undefined, 400, "OVS_ERR_VALIDATION"],
      ["GET", "/api/dashboard/logs/coordination?limit=abc", undefined, 400, "OVS_ERR_VALIDATION"],
      ["GET", "/api/dashboard/agents/not-a-uuid/metrics", undefined, 400, "OVS_ERR_VALIDATION"],
      ["GET", `/api/dashboard/agents/${randomUUID()}/metrics`, undefined, 404, "OVS_ERR_AGENT_NOT_FOUND"],
      ["POST", "/api/dashboard/tasks/nope/reassign", { reason: "x" }, 400, "OVS_ERR_VALIDATION"],
      ["POST", `/api/dashboard/tasks/${randomUUID()}/reassign`, {}, 400, "OVS_ERR_VALIDATION"],
      [
        "POST",
        `/api/dashboard/tasks/${randomUUID()}/reassign`,
        { reason: "x", agentId: "bob" },
        400,
        "OVS_ERR_VALIDATION",
      ],
      [
        "POST",
        `/api/dashboard/tasks/${randomUUID()}/reassign`,
        { reason: "x" },
        404,
        "OVS_ERR_TASK_NOT_FOUND",
      ],
      ["POST", `/api/dashboard/tasks/${randomUUID()}/retry`, {}, 404, "OVS_ERR_TASK_NOT_FOUND"],
      [
        "POST",
        `/api/dashboard/tasks/${randomUUID()}/retry`,
        { priorityBoost: 1.5 },
        400,
        "OVS_ERR_VALIDATION",
      ],
      [
        "POST",
        `/api/dashboard/tasks/${randomUUID()}/retry`,
        { priorityBoost: 5000 },
        400,
        "OVS_ERR_VALIDATION",
      ],
    ];
    for (const [method, path, body, status, errorCode] of cases) {
      const r = await d.api(method, path, { body });
      expect([r.status, code(r)], `${method} ${path} ${JSON.stringify(body)}`).toEqual([status, errorCode]);
    }
    const resets: Array<[unknown, number, string]> = [
      [{ level: "soft" }, 400, "OVS_ERR_VALIDATION"],
      [{ level: "soft", reason: "" }, 400, "OVS_ERR_VALIDATION"],
      [{ level: "nuclear", reason: "x" }, 400, "OVS_ERR_VALIDATION"],
      [{ level: "soft", reason: "x", confirmationToken: "ovc_made_up" }, 409, "OVS_ERR_CONFIRMATION_INVALID"],
    ];
    for (const [body, status, errorCode] of resets) {
      const r = await d.api("POST", "/api/dashboard/coordination/reset", { token: TOKENS.admin, body });
      expect([r.status, code(r)], JSON.stringify(body)).toEqual([status, errorCode]);
    }
  });

  it("enforce roles: reads for viewers, levers for operators, reset for admins", async () => {
    const id = randomUUID();
    const routes: Array<[string, string, unknown, "viewer" | "operator" | "admin"]> = [
      ["GET", "/api/dashboard/coordination/success-rate", undefined, "viewer"],
      ["GET", "/api/dashboard/coordination/failures", undefined, "viewer"],
      ["GET", "/api/dashboard/coordination/diagnostics", undefined, "viewer"],
      ["GET", "/api/dashboard/logs/coordination", undefined, "viewer"],
      ["GET", "/api/dashboard/tasks/distribution", undefined, "viewer"],
      ["GET", `/api/dashboard/agents/${id}/metrics`, undefined, "viewer"],
      ["POST", `/api/dashboard/tasks/${id}/reassign`, { reason: "x" }, "operator"],
      ["POST", `/api/dashboard/tasks/${id}/retry`, {}, "operator"],
      ["POST", "/api/dashboard/coordination/reset", { level: "soft", reason: "role check" }, "admin"],
    ];
    const rank = { viewer: 1, operator: 2, admin: 3 };
    const agent = await d.registerAgent("roles", ["roles.t"]);
    for (const [method, path, body, need] of routes) {
      expect((await d.api(method, path, { token: null, body })).status, `${path} without a token`).toBe(401);
      expect((await d.api(method, path, { token: agent.token, body })).status, `${path} as an agent`).toBe(
        403,
      );
      for (const role of ["viewer", "operator", "admin"] as const) {
        const r = await d.api(method, path, { token: TOKENS[role], body });
        if (rank[role] < rank[need]) expect(r.status, `${path} as ${role}`).toBe(403);
        else expect([200, 404], `${path} as ${role}: ${r.status}`).toContain(r.status);
      }
    }
  });

  it("reassigns an active task to a named agent: the old holder gets 409, the new one claims it", async () => {
    const a = await d.registerAgent("ra-a", ["ra.t"]);
    const b = await d.registerAgent("ra-b", ["ra.t"]);
    const other = await d.registerAgent("ra-other", ["ra.other"]);
    const submitted = await d.api("POST", "/api/tasks", { body: { type: "ra.t", payload: { n: 1 } } });
    const held = await eventually(async () => (await claim(a)).body.tasks[0], 5_000, "a claims");
    expect(held.id).toBe(submitted.body.id);

    const wrong = await d.api("POST", `/api/dashboard/tasks/${held.id}/reassign`, {
      body: { agentId: other.id, reason: "lacks capability" },
    });
    expect([wrong.status, code(wrong)]).toEqual([409, "OVS_ERR_AGENT_UNSUITABLE"]);
    const self = await d.api("POST", `/api/dashboard/tasks/${held.id}/reassign`, {
      body: { agentId: a.id, reason: "to itself" },
    });
    expect([self.status, code(self)]).toEqual([409, "OVS_ERR_AGENT_UNSUITABLE"]);
    const ghost = await d.api("POST", `/api/dashboard/tasks/${held.id}/reassign`, {
      body: { agentId: randomUUID(), reason: "unknown" },
    });
    expect([ghost.status, code(ghost)]).toEqual([404, "OVS_ERR_AGENT_NOT_FOUND"]);

    const moved = await d.api("POST", `/api/dashboard/tasks/${held.id}/reassign`, {
      body: { agentId: b.id, reason: "a is slow" },
      token: TOKENS.operator,
    });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ fromAgentId: a.id, toAgentId: b.id, state: "queued" });

    const late = await d.api("POST", `/api/tasks/${held.id}/complete`, {
      token: a.token,
      body: { leaseToken: held.leaseToken, result: {} },
    });
    expect([late.status, code(late)]).toEqual([409, "OVS_ERR_LEASE_CONFLICT"]);
    // Only b gets it: a's claims find nothing.
    expect((await claim(a)).body.tasks).toEqual([]);
    const taken = await eventually(async () => (await claim(b)).body.tasks[0], 5_000, "b claims");
    expect(taken.id).toBe(held.id);
    const done = await d.api("POST", `/api/tasks/${held.id}/complete`, {
      token: b.token,
      body: { leaseToken: taken.leaseToken, result: { by: "b" } },
    });
    expect(done.status).toBe(200);

    const db = await namespaceDb(d.namespace);
    try {
      const attempts = await db.query(
        "SELECT agent_id, outcome FROM task_attempts WHERE task_id = $1 ORDER BY attempt",
        [held.id],
      );
      expect(attempts.rows).toEqual([
        { agent_id: a.id, outcome: "released" },
        { agent_id: b.id, outcome: "completed" },
      ]);
      const audit = await db.query(
        "SELECT actor, reason, request_id, impact FROM audit_log WHERE action = 'task.reassign' AND target_id = $1",
        [held.id],
      );
      expect(audit.rows).toHaveLength(1);
      expect(audit.rows[0]).toMatchObject({ actor: "operator", reason: "a is slow" });
      expect(audit.rows[0].request_id).toBeTruthy();
      expect(audit.rows[0].impact).toMatchObject({ fromAgentId: a.id, toAgentId: b.id });
    } finally {
      await db.end();
    }
  });

  it("reassigns without a name to the least-loaded capable agent", async () => {
    const busy = await d.registerAgent("ll-busy", ["ll.t"], { concurrency: 2 });
    const idle = await d.registerAgent("ll-idle", ["ll.t"], { concurrency: 2 });
    const first = await d.api("POST", "/api/tasks", { body: { type: "ll.t", payload: {} } });
    await d.api("POST", "/api/tasks", { body: { type: "ll.t", payload: {} } });
    const leases = await eventually(
      async () => {
        const t = (await claim(busy, 2)).body.tasks;
        return t.length === 2 ? t : null;
      },
      5_000,
      "busy claims both",
    );
    expect(leases.map((t: { id: string }) => t.id)).toContain(first.body.id);
    const moved = await d.api("POST", `/api/dashboard/tasks/${first.body.id}/reassign`, {
      body: { reason: "spread" },
    });
    expect(moved.status).toBe(200);
    expect(moved.body.toAgentId).toBe(idle.id);
    const dist = await d.api("GET", "/api/dashboard/tasks/distribution", as(TOKENS.viewer));
    expect(dist.status).toBe(200);
    const busyRow = dist.body.agents.find((a: { agentId: string }) => a.agentId === busy.id);
    expect(busyRow).toMatchObject({ leases: 1, concurrency: 2, load: 0.5 });
    expect(dist.body.byType["ll.t"]).toMatchObject({ active: 1, queued: 1, total: 2 });
  });

  it("retries a failed task with a priority boost, audited; a queued task is a 409", async () => {
    const agent = await d.registerAgent("rt", ["rt.t"]);
    const sub = await d.api("POST", "/api/tasks", {
      body: { type: "rt.t", payload: {}, priority: 10, maxAttempts: 1 },
    });
    const queued = await d.api("POST", `/api/dashboard/tasks/${sub.body.id}/retry`, { body: {} });
    expect([queued.status, code(queued)]).toEqual([409, "OVS_ERR_TASK_STATE_CONFLICT"]);
    const t = await eventually(async () => (await claim(agent)).body.tasks[0], 5_000, "claim");
    await d.api("POST", `/api/tasks/${t.id}/fail`, {
      token: agent.token,
      body: { leaseToken: t.leaseToken, error: { message: "nope", retryable: false } },
    });
    const retried = await d.api("POST", `/api/dashboard/tasks/${t.id}/retry`, {
      body: { reason: "fixed upstream", priorityBoost: 5 },
    });
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ state: "queued", from: "failed", priorityBefore: 10, priority: 15 });
    const again = await eventually(async () => (await claim(agent)).body.tasks[0], 5_000, "claim again");
    expect(again.id).toBe(t.id);
    const db = await namespaceDb(d.namespace);
    try {
      const audit = await db.query(
        "SELECT reason, impact FROM audit_log WHERE action = 'task.retry' AND target_id = $1",
        [t.id],
      );
      expect(audit.rows).toEqual([
        { reason: "fixed upstream", impact: { from: "failed", priorityBefore: 10, priority: 15 } },
      ]);
    } finally {
      await db.end();
    }
    const metrics = await d.api("GET", `/api/dashboard/agents/${agent.id}/metrics`, as(TOKENS.viewer));
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatchObject({ agentId: agent.id, currentLeases: 1, concurrency: 1 });
    expect(metrics.body.windows["1h"]).toMatchObject({ completed: 0, failed: 1, successRate: 0 });
    expect(metrics.body.heartbeat.ageMs).toBeGreaterThanOrEqual(0);
  });

  it("the plain task retry is the same operator retry: audited with the caller and its request id", async () => {
    const agent = await d.registerAgent("prt", ["prt.t"]);
    const sub = await d.api("POST", "/api/tasks", {
      body: { type: "prt.t", payload: {}, priority: 7, maxAttempts: 1 },
    });
    const t = await eventually(async () => (await claim(agent)).body.tasks[0], 5_000, "claim");
    await d.api("POST", `/api/tasks/${t.id}/fail`, {
      token: agent.token,
      body: { leaseToken: t.leaseToken, error: { message: "nope", retryable: false } },
    });
    const retried = await call(d.url, "POST", `/api/tasks/${sub.body.id}/retry`, {
      token: TOKENS.operator,
      headers: { "x-overseer-actor": "alice" },
    });
    expect(retried.status).toBe(202);
    expect(retried.body).toEqual({ ok: true });
    expect((await d.api("GET", `/api/tasks/${t.id}`)).body).toMatchObject({ state: "queued", priority: 7 });
    const db = await namespaceDb(d.namespace);
    try {
      const audit = await db.query(
        "SELECT actor, reason, request_id, impact, data FROM audit_log WHERE action = 'task.retry' AND target_id = $1",
        [t.id],
      );
      expect(audit.rows).toHaveLength(1);
      expect(audit.rows[0]).toMatchObject({
        actor: "operator:alice",
        reason: null,
        impact: { from: "failed", priorityBefore: 7, priority: 7 },
        data: { type: "prt.t", priorityBoost: 0 },
      });
      expect(audit.rows[0].request_id).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await db.end();
    }
  });

  it("resets in two steps: dry run with impact and a token, then execution, audited; tokens are single use", async () => {
    const dry = await d.api("POST", "/api/dashboard/coordination/reset", {
      token: TOKENS.admin,
      body: { level: "hard", reason: "drill" },
    });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, level: "hard", impact: { level: "hard" } });
    expect(dry.body.confirmationToken).toMatch(/^ovc_/);
    const otherLevel = await d.api("POST", "/api/dashboard/coordination/reset", {
      token: TOKENS.admin,
      body: { level: "full", reason: "drill", confirmationToken: dry.body.confirmationToken },
    });
    expect([otherLevel.status, code(otherLevel)]).toEqual([409, "OVS_ERR_CONFIRMATION_INVALID"]);
    const run = await d.api("POST", "/api/dashboard/coordination/reset", {
      token: TOKENS.admin,
      body: { level: "hard", reason: "drill", confirmationToken: dry.body.confirmationToken },
    });
    expect(run.status, run.text).toBe(200);
    expect(run.body.dryRun).toBe(false);
    expect(run.body.reset).toMatchObject({ level: "hard", reason: "drill", actor: "admin" });
    expect(run.body.reset.result.reconcile).toBeDefined();
    expect(run.body.reset.result.mirrors.agents).toBeGreaterThan(0);
    const reuse = await d.api("POST", "/api/dashboard/coordination/reset", {
      token: TOKENS.admin,
      body: { level: "hard", reason: "drill", confirmationToken: dry.body.confirmationToken },
    });
    expect([reuse.status, code(reuse)]).toEqual([409, "OVS_ERR_CONFIRMATION_INVALID"]);
    const db = await namespaceDb(d.namespace);
    try {
      const audit = await db.query(
        "SELECT actor, reason, target_id, request_id, impact FROM audit_log WHERE action = 'coordination.reset'",
      );
      expect(audit.rows).toHaveLength(1);
      expect(audit.rows[0]).toMatchObject({ actor: "admin", reason: "drill", target_id: "hard" });
      expect(audit.rows[0].request_id).toBeTruthy();
      expect(audit.rows[0].impact).toMatchObject({ level: "hard" });
    } finally {
      await db.end();
    }
  });

  /** Sets a quarantine or circuit field of the gate hash and waits until the daemon obeys it. */
  async function gate(
    field: string,
    untilMs: number,
    check: (g: {
      quarantinedAgents: Record<string, string>;
      openCircuits: Record<string, string>;
    }) => boolean,
  ) {
    const redis = new Redis({ host: "127.0.0.1", port: 6379 });
    try {
      await redis.hset(`ovs:{${d.namespace}}:heal:gates`, field, String(untilMs));
    } finally {
      await redis.quit();
    }
    await eventually(
      async () =>
        check((await d.api("GET", "/api/dashboard/recovery/managed-agents", as(TOKENS.viewer))).body),
      5_000,
      `gate ${field} in force`,
    );
  }

  it("never reassigns to a quarantined agent: a named one is refused, the least-loaded choice skips it", async () => {
    const holder = await d.registerAgent("qa-holder", ["qa.t"], { concurrency: 2 });
    const quarantined = await d.registerAgent("qa-flappy", ["qa.t"], { concurrency: 4 });
    const busy = await d.registerAgent("qa-busy", ["qa.t"], { concurrency: 1 });
    await gate("agent:qa-flappy", Date.now() + 60_000, (g) => "qa-flappy" in g.quarantinedAgents);
    await d.api("POST", "/api/tasks", { body: { type: "qa.t", payload: {} } });
    const t = await eventually(async () => (await claim(holder)).body.tasks[0], 5_000, "holder claims");
    const named = await d.api("POST", `/api/dashboard/tasks/${t.id}/reassign`, {
      body: { agentId: quarantined.id, reason: "to the quarantined one" },
    });
    expect([named.status, code(named)]).toEqual([409, "OVS_ERR_AGENT_UNSUITABLE"]);
    // The quarantined agent is the least loaded (no leases, most concurrency), yet busy gets it.
    const moved = await d.api("POST", `/api/dashboard/tasks/${t.id}/reassign`, {
      body: { reason: "spread" },
    });
    expect(moved.status).toBe(200);
    expect(moved.body.toAgentId).toBe(busy.id);
  });

  it("a directed claim does not hand out a task whose type's circuit is open: it stays queued until the circuit closes", async () => {
    const holder = await d.registerAgent("cc-holder", ["cc.t"]);
    const target = await d.registerAgent("cc-target", ["cc.t"]);
    await d.api("POST", "/api/tasks", { body: { type: "cc.t", payload: {} } });
    const t = await eventually(async () => (await claim(holder)).body.tasks[0], 5_000, "holder claims");
    const moved = await d.api("POST", `/api/dashboard/tasks/${t.id}/reassign`, {
      body: { agentId: target.id, reason: "move it" },
    });
    expect(moved.status).toBe(200);
    await gate("type:cc.t", Date.now() + 60_000, (g) => "cc.t" in g.openCircuits);
    expect((await claim(target)).body.tasks).toEqual([]);
    expect((await d.api("GET", `/api/tasks/${t.id}`)).body.state).toBe("queued");
    // Once the circuit closes, the reconciler's re-queue makes it claimable again.
    await gate("type:cc.t", Date.now() - 1, (g) => !("cc.t" in g.openCircuits));
    const again = await eventually(
      async () => (await claim(target)).body.tasks[0],
      15_000,
      "claimable again",
    );
    expect(again.id).toBe(t.id);
  });

  it("a hand-off the target never claims goes back to its queue (the reconciler), so nothing is lost", async () => {
    const holder = await d.registerAgent("fb-holder", ["fb.t"]);
    const target = await d.registerAgent("fb-target", ["fb.t"]);
    await d.api("POST", "/api/tasks", { body: { type: "fb.t", payload: {} } });
    const t = await eventually(async () => (await claim(holder)).body.tasks[0], 5_000, "holder claims");
    const moved = await d.api("POST", `/api/dashboard/tasks/${t.id}/reassign`, {
      body: { agentId: target.id, reason: "target will not show up" },
    });
    expect(moved.status).toBe(200);
    // The target never claims; after the settle time the reconciler re-queues it for anyone capable.
    const again = await eventually(
      async () => (await claim(holder)).body.tasks[0],
      15_000,
      "re-queued for anyone",
    );
    expect(again.id).toBe(t.id);
  });

  it("a hard reset releases the leases of stale agents and rebuilds their mirrors", async () => {
    const sleepy = await d.registerAgent("hr-stale", ["hr.t"]);
    await d.api("POST", "/api/tasks", { body: { type: "hr.t", payload: {} } });
    const t = await eventually(async () => (await claim(sleepy)).body.tasks[0], 5_000, "claim");
    sleepy.silence();
    await eventually(
      async () => {
        const r = await d.api("GET", `/api/dashboard/agents/${sleepy.id}/metrics`, as(TOKENS.viewer));
        return r.body.state === "stale";
      },
      10_000,
      "agent stale",
    );
    const body = { level: "hard", reason: "stale holder" };
    const dry = await d.api("POST", "/api/dashboard/coordination/reset", { token: TOKENS.admin, body });
    expect(dry.body.impact.leasesToRelease).toBe(1);
    const run = await d.api("POST", "/api/dashboard/coordination/reset", {
      token: TOKENS.admin,
      body: { ...body, confirmationToken: dry.body.confirmationToken },
    });
    expect(run.status, run.text).toBe(200);
    expect(run.body.reset.result.releasedLeases).toBe(1);
    const task = await d.api("GET", `/api/tasks/${t.id}`);
    expect(task.body.state).toBe("queued");
    expect(task.body.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(["released"]);
    const late = await d.api("POST", `/api/tasks/${t.id}/complete`, {
      token: sleepy.token,
      body: { leaseToken: t.leaseToken, result: {} },
    });
    expect(late.status).toBe(409);
  });

  it("a full reset asks every live agent to drain through its heartbeat", async () => {
    const agent = await d.registerAgent("full", ["full.t"], { silent: true });
    const body = { level: "full", reason: "drain drill" };
    const dry = await d.api("POST", "/api/dashboard/coordination/reset", { token: TOKENS.admin, body });
    expect(dry.body.impact.agentsToDrain).toBeGreaterThan(0);
    const run = await d.api("POST", "/api/dashboard/coordination/reset", {
      token: TOKENS.admin,
      body: { ...body, confirmationToken: dry.body.confirmationToken },
    });
    expect(run.status, run.text).toBe(200);
    expect(run.body.reset.result.drainCommands).toBeGreaterThan(0);
    const beat = await d.api("POST", `/api/agents/${agent.id}/heartbeat`, { token: agent.token, body: {} });
    expect(beat.status).toBe(200);
    expect(beat.body.commands).toEqual(expect.arrayContaining([expect.objectContaining({ type: "drain" })]));
  });

  it("diagnoses queues, leases, agents, stores and loops", async () => {
    const r = await d.api("GET", "/api/dashboard/coordination/diagnostics", as(TOKENS.viewer));
    expect(r.status).toBe(200);
    expect(["ok", "warning", "critical"]).toContain(r.body.status);
    expect(Array.isArray(r.body.findings)).toBe(true);
    expect(r.body.checked.stores.postgres.ok).toBe(true);
    expect(r.body.checked.stores.redis.ok).toBe(true);
    const loops = r.body.checked.loops.map((l: { name: string }) => l.name);
    expect(loops).toEqual(expect.arrayContaining(["leader", "liveness", "reconcile"]));
    expect(r.body.checked.queues.length).toBeGreaterThan(0);
  });
});
