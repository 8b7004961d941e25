import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "../helpers/api-client.ts";
import { eventually, startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { TOKENS } from "../helpers/test-env.ts";

/**
 * Emergency overrides end to end against real Redis and Postgres (docs/overrides.md): dry run,
 * confirmation, execution, audit record, expiry and undo for each action, and clear_task_queue then
 * restore losing no task.
 */
let d: TestDaemon;
let db: pg.Client;
const say = (line: string) => console.log(`overrides-acceptance: ${line}`);

beforeAll(async () => {
  // Agents here beat by hand; a long dead-after keeps a silent one's leases in place meanwhile.
  d = await startTestDaemon({
    OVERSEER_AGENT_DEAD_AFTER_MS: "60000",
    OVERSEER_AGENT_STALE_AFTER_MS: "30000",
    OVERSEER_OVERRIDE_CHECK_INTERVAL_MS: "100",
    OVERSEER_CONTROL_RATE_BURST: "1000",
  });
  db = await namespaceDb(d.namespace);
});
afterAll(async () => {
  await db?.end();
  await d?.close();
});

const admin = { token: TOKENS.admin };
const override = (body: Record<string, unknown>, token = TOKENS.admin) =>
  d.api("POST", "/api/dashboard/system/emergency-override", { token, body });

/** Dry run then execute; returns both answers. */
async function confirmed(body: Record<string, unknown>) {
  const dry = await override(body);
  expect(dry.status, dry.text).toBe(200);
  const run = await override({ ...body, confirmationToken: dry.body.confirmationToken });
  expect(run.status, run.text).toBe(200);
  return { dry: dry.body, run: run.body };
}

async function counts(): Promise<Record<string, number>> {
  const r = await db.query("SELECT state, count(*)::int AS n FROM tasks GROUP BY state");
  return Object.fromEntries(r.rows.map((x) => [x.state, x.n]));
}

async function submit(type: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await d.api("POST", "/api/tasks", { body: { type, payload: { i } } });
    expect(r.status, r.text).toBe(202);
    ids.push(r.body.id);
  }
  return ids;
}

const claim = (agent: { id: string; token: string }, max = 1, waitMs = 0) =>
  d.api("POST", `/api/agents/${agent.id}/claim`, { token: agent.token, body: { max, waitMs } });

async function audit(query: string) {
  const r = await d.api("GET", `/api/audit?${query}`);
  expect(r.status, r.text).toBe(200);
  return r.body.entries as Array<Record<string, unknown>>;
}

async function metric(name: string, labels: string): Promise<number> {
  const text = (await call(d.url, "GET", "/metrics")).text;
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(" ").pop()) : 0;
}

describe("emergency overrides", () => {
  it("need the admin role, a reason and a known action", async () => {
    expect((await override({ action: "stop_all_tasks", reason: "x" }, TOKENS.operator)).status).toBe(403);
    expect((await override({ action: "stop_all_tasks", reason: "x" }, TOKENS.viewer)).status).toBe(403);
    const noReason = await override({ action: "stop_all_tasks" });
    expect(noReason.status).toBe(400);
    expect(noReason.body.error.code).toBe("OVS_ERR_VALIDATION");
    expect((await override({ action: "stop_all_tasks", reason: "   " })).status).toBe(400);
    expect((await override({ action: "reboot_universe", reason: "x" })).status).toBe(400);
    const oneShotExpiry = await override({ action: "restart_all_agents", reason: "x", expiresInMs: 5_000 });
    expect(oneShotExpiry.status).toBe(400);
    expect((await override({ action: "stop_all_tasks", reason: "x", expiresInMs: 10 })).status).toBe(400);
    expect((await override({ action: "stop_all_tasks", reason: "x", expiresInMs: "5s" })).status).toBe(400);
  });

  it("stop_all_tasks: dry run, confirmation, execution, audit, undo; claims get nothing meanwhile", async () => {
    const agent = await d.registerAgent("stopper", ["stop.work"]);
    const [taskId] = await submit("stop.work", 1);
    const dry = await override({ action: "stop_all_tasks", reason: "incident 42" });
    expect(dry.status, dry.text).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, action: "stop_all_tasks" });
    expect(dry.body.impact).toMatchObject({ claimsPaused: true, queuedTasksHeld: 1 });
    expect(dry.body.confirmationToken).toMatch(/^ovc_/);
    expect(Date.parse(dry.body.confirmationExpiresAt)).toBeGreaterThan(Date.now());
    say(`stop_all_tasks dry run impact ${JSON.stringify(dry.body.impact)}`);
    // A dry run changes nothing: the task can still be claimed... but leave it queued for the check.
    const wrong = await override({
      action: "stop_all_tasks",
      reason: "incident 43",
      confirmationToken: dry.body.confirmationToken,
    });
    expect(wrong.status).toBe(409);
    expect(wrong.body.error.code).toBe("OVS_ERR_CONFIRMATION_INVALID");
    const bogus = await override({
      action: "stop_all_tasks",
      reason: "incident 42",
      confirmationToken: "ovc_bogus",
    });
    expect(bogus.status).toBe(409);

    const run = await override({
      action: "stop_all_tasks",
      reason: "incident 42",
      confirmationToken: dry.body.confirmationToken,
    });
    expect(run.status, run.text).toBe(200);
    const o = run.body.override;
    expect(run.body.dryRun).toBe(false);
    expect(o).toMatchObject({
      action: "stop_all_tasks",
      reason: "incident 42",
      actor: "admin",
      state: "active",
      expiresAt: null,
    });
    say(`stop_all_tasks confirmed and executed: override ${o.id} state ${o.state}`);
    const reused = await override({
      action: "stop_all_tasks",
      reason: "incident 42",
      confirmationToken: dry.body.confirmationToken,
    });
    expect(reused.status).toBe(409);
    expect(reused.body.error.message).toContain("already used");

    // While active: a second stop is refused at confirmation, and claims lease nothing.
    const second = await confirmedAttempt({ action: "stop_all_tasks", reason: "again" });
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe("OVS_ERR_OVERRIDE_STATE_CONFLICT");
    expect((await claim(agent, 1, 300)).body.tasks).toEqual([]);
    expect((await counts()).queued).toBe(1);
    const listed = await d.api("GET", "/api/dashboard/system/overrides?state=active", {
      token: TOKENS.viewer,
    });
    expect(listed.status).toBe(200);
    expect(listed.body.overrides.map((x: { id: string }) => x.id)).toContain(o.id);
    expect(await metric("overseer_override_active", 'action="stop_all_tasks"')).toBe(1);

    const entries = await audit("targetKind=override&limit=50");
    const executed = entries.find((e) => e.action === "override.stop_all_tasks" && e.targetId === o.id);
    expect(executed).toMatchObject({ actor: "admin", reason: "incident 42", impact: { claimsPaused: true } });
    expect(executed?.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(entries.some((e) => e.action === "override.dry_run" && e.targetId === "stop_all_tasks")).toBe(
      true,
    );
    say(
      `audit record: ${JSON.stringify({ action: executed?.action, actor: executed?.actor, reason: executed?.reason, requestId: executed?.requestId })}`,
    );

    const undoNoReason = await d.api("POST", `/api/dashboard/system/overrides/${o.id}/undo`, {
      ...admin,
      body: {},
    });
    expect(undoNoReason.status).toBe(400);
    const undo = await d.api("POST", `/api/dashboard/system/overrides/${o.id}/undo`, {
      ...admin,
      body: { reason: "fixed" },
    });
    expect(undo.status, undo.text).toBe(200);
    expect(undo.body.override).toMatchObject({ id: o.id, state: "undone", endedBy: "admin" });
    const leased = await claim(agent, 1, 2_000);
    expect(leased.body.tasks.map((t: { id: string }) => t.id)).toEqual([taskId]);
    say(`stop_all_tasks undone: claim resumed and leased ${taskId}`);
    const again = await d.api("POST", `/api/dashboard/system/overrides/${o.id}/undo`, {
      ...admin,
      body: { reason: "twice" },
    });
    expect(again.status).toBe(409);
    const unknown = await d.api(
      "POST",
      "/api/dashboard/system/overrides/00000000-0000-4000-8000-000000000000/undo",
      {
        ...admin,
        body: { reason: "x" },
      },
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("OVS_ERR_OVERRIDE_NOT_FOUND");
    expect(await metric("overseer_overrides_total", 'action="stop_all_tasks",outcome="executed"')).toBe(1);
    expect(await metric("overseer_overrides_total", 'action="stop_all_tasks",outcome="undone"')).toBe(1);
    expect(await metric("overseer_override_active", 'action="stop_all_tasks"')).toBe(0);
  });

  it("system_maintenance refuses new work with 503 and Retry-After, serves reads, and expires by itself once across replicas", async () => {
    // A second replica on the same namespace: both run the expiry loop, the override ends once.
    const replica = await startTestDaemon(
      {
        OVERSEER_AGENT_DEAD_AFTER_MS: "60000",
        OVERSEER_AGENT_STALE_AFTER_MS: "30000",
        OVERSEER_OVERRIDE_CHECK_INTERVAL_MS: "100",
      },
      d.namespace,
    );
    try {
      await maintenanceAcrossReplicas(replica);
    } finally {
      await replica.close({ keepData: true });
    }
  });

  async function maintenanceAcrossReplicas(replica: TestDaemon): Promise<void> {
    const [before] = await submit("maint.work", 1);
    const { dry, run } = await confirmed({
      action: "system_maintenance",
      reason: "db upgrade",
      expiresInMs: 1_500,
    });
    expect(dry.impact).toMatchObject({ submitsRefused: true });
    expect(run.override.expiresAt).not.toBeNull();
    say(`system_maintenance executed with expiry ${run.override.expiresAt}`);
    const refused = await fetch(`${d.url}/api/tasks`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKENS.operator}`, "content-type": "application/json" },
      body: JSON.stringify({ type: "maint.work", payload: {} }),
    });
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("OVS_ERR_MAINTENANCE");
    const pipeline = await d.api("POST", "/api/pipelines/story/runs", { body: { params: {} } });
    expect(pipeline.status).toBe(503);
    expect((await d.api("GET", `/api/tasks/${before}`)).status).toBe(200);
    // The other replica sees it within about a second (its gate reads Postgres at most once a second).
    await eventually(
      async () =>
        (await replica.api("POST", "/api/tasks", { body: { type: "maint.other", payload: {} } })).status ===
        503,
      5_000,
      "the second replica to refuse submits",
    );
    expect((await d.api("GET", "/api/dashboard/system/overrides")).status).toBe(200);
    const ended = await eventually(
      async () => {
        const r = await d.api("GET", "/api/dashboard/system/overrides?state=expired");
        return r.body.overrides.find((x: { id: string }) => x.id === run.override.id);
      },
      15_000,
      "the maintenance override to expire",
    );
    expect(ended).toMatchObject({ state: "expired", endedBy: "system:expiry" });
    const rows = await db.query(
      "SELECT count(*)::int AS n FROM audit_log WHERE action = 'override.expired' AND target_id = $1",
      [run.override.id],
    );
    expect(rows.rows[0].n).toBe(1);
    // The expiry may have been the other replica's (the leader's) doing: this one's gate learns of it
    // within about a second, as of any other replica's change.
    await eventually(
      async () =>
        (await d.api("POST", "/api/tasks", { body: { type: "maint.work", payload: {} } })).status === 202,
      5_000,
      "this replica to accept submits again after the expiry",
    );
    const undo = await d.api("POST", `/api/dashboard/system/overrides/${run.override.id}/undo`, {
      ...admin,
      body: { reason: "late" },
    });
    expect(undo.status).toBe(409);
    expect(undo.body.error.message).toContain("expired");
    say(
      "system_maintenance: submit 503 OVS_ERR_MAINTENANCE with Retry-After on both replicas, reads 200, expired once by itself (1 audit record across 2 replicas), submit 202 after",
    );
  }

  it("clear_task_queue archives every queued task and restore loses none; each completes once", async () => {
    await db.query("UPDATE tasks SET state = 'cancelled', finished_at = now() WHERE state = 'queued'");
    const ids = await submit("clear.work", 25);
    const before = await counts();
    expect(before.queued).toBe(25);
    const { dry, run } = await confirmed({ action: "clear_task_queue", reason: "poisoned batch" });
    expect(dry.impact).toMatchObject({ tasksToArchive: 25, byType: { "clear.work": 25 } });
    expect(run.override.impact).toMatchObject({ archived: 25 });
    const during = await counts();
    expect(during.queued ?? 0).toBe(0);
    expect(during.archived).toBe(25);
    const archive = await db.query("SELECT count(*)::int AS n FROM task_archive WHERE override_id = $1", [
      run.override.id,
    ]);
    expect(archive.rows[0].n).toBe(25);
    const agent = await d.registerAgent("clearer", ["clear.work"], { concurrency: 5 });
    expect((await claim(agent, 5, 200)).body.tasks).toEqual([]);
    say(
      `clear_task_queue: before queued=${before.queued}; after clear queued=${during.queued ?? 0} archived=${during.archived}`,
    );

    const undo = await d.api("POST", `/api/dashboard/system/overrides/${run.override.id}/undo`, {
      ...admin,
      body: { reason: "batch is fine" },
    });
    expect(undo.status, undo.text).toBe(200);
    expect(undo.body.override.impact).toMatchObject({ restored: 25 });
    const recorded = await d.api("GET", "/api/dashboard/system/overrides?state=undone");
    const row = recorded.body.overrides.find((x: { id: string }) => x.id === run.override.id);
    expect(row.impact).toMatchObject({ tasksToArchive: 25, archived: 25, restored: 25 });
    const after = await counts();
    expect(after.queued).toBe(25);
    expect(after.archived ?? 0).toBe(0);
    const done = new Set<string>();
    await eventually(
      async () => {
        const r = await claim(agent, 5, 500);
        for (const t of r.body.tasks) {
          const c = await d.api("POST", `/api/tasks/${t.id}/complete`, {
            token: agent.token,
            body: { leaseToken: t.leaseToken, result: { ok: true } },
          });
          expect(c.status, c.text).toBe(200);
          done.add(t.id);
        }
        return done.size === ids.length;
      },
      30_000,
      "every restored task to complete",
    );
    const completions = await db.query(
      "SELECT task_id, count(*)::int AS n FROM task_attempts WHERE outcome = 'completed' AND task_id = ANY($1) GROUP BY task_id",
      [ids],
    );
    expect(completions.rows).toHaveLength(25);
    expect(completions.rows.every((r) => r.n === 1)).toBe(true);
    say(
      `clear_task_queue restore: queued after restore=${after.queued}; completed once each=${completions.rows.length}/25; lost=0`,
    );
  });

  it("restart_all_agents releases leases first, sends restart in the heartbeat, and cannot be undone", async () => {
    const agent = await d.registerAgent("restartee", ["restart.work"], { silent: true });
    const [taskId] = await submit("restart.work", 1);
    const leased = await claim(agent, 1, 2_000);
    expect(leased.body.tasks.map((t: { id: string }) => t.id)).toEqual([taskId]);
    const { dry, run } = await confirmed({ action: "restart_all_agents", reason: "new model config" });
    expect(dry.impact.agentsToRestart).toBeGreaterThanOrEqual(1);
    expect(run.override.state).toBe("done");
    expect(run.override.impact.applied.leasesReleased).toBeGreaterThanOrEqual(1);
    const task = await d.api("GET", `/api/tasks/${taskId}`);
    expect(task.body.state).toBe("queued");
    const beat = await d.api("POST", `/api/agents/${agent.id}/heartbeat`, { token: agent.token, body: {} });
    expect(beat.status).toBe(200);
    const types = beat.body.commands.map((c: { type: string }) => c.type);
    expect(types).toContain("restart");
    expect(beat.body.commands).toContainEqual(expect.objectContaining({ type: "cancel", taskId }));
    expect(types.indexOf("cancel")).toBeLessThan(types.indexOf("restart"));
    const undo = await d.api("POST", `/api/dashboard/system/overrides/${run.override.id}/undo`, {
      ...admin,
      body: { reason: "oops" },
    });
    expect(undo.status).toBe(409);
    expect(undo.body.error.message).toContain("one-shot");
    say(
      `restart_all_agents: leases released=${run.override.impact.applied.leasesReleased}, heartbeat commands=${types.join(",")}; undo 409 (one-shot)`,
    );
  });

  it("answers the audit query with validated filters and pages", async () => {
    expect((await d.api("GET", "/api/audit?limit=0")).status).toBe(400);
    expect((await d.api("GET", "/api/audit?limit=abc")).status).toBe(400);
    expect((await d.api("GET", "/api/audit?limit=501")).status).toBe(400);
    expect((await d.api("GET", "/api/audit?since=yesterday")).status).toBe(400);
    expect((await d.api("GET", "/api/audit?color=red")).status).toBe(400);
    expect((await d.api("GET", "/api/audit", { token: TOKENS.viewer })).status).toBe(403);
    const all = await audit("actor=admin&limit=500");
    expect(all.length).toBeGreaterThan(4);
    const first = await d.api("GET", "/api/audit?actor=admin&limit=2");
    expect(first.body.entries).toHaveLength(2);
    const next = await d.api("GET", `/api/audit?actor=admin&limit=2&before=${first.body.nextBefore}`);
    expect(next.body.entries[0].id).toBe(all[2]?.id);
    const future = await audit("since=2999-01-01T00:00:00Z");
    expect(future).toEqual([]);
    const undos = await audit("action=override.undo");
    expect(undos.length).toBeGreaterThanOrEqual(2);
    expect(undos.every((e) => e.action === "override.undo")).toBe(true);
  });
});

/** Dry run and confirm, returning the confirm answer whatever it is. */
async function confirmedAttempt(body: Record<string, unknown>) {
  const dry = await override(body);
  expect(dry.status, dry.text).toBe(200);
  return override({ ...body, confirmationToken: dry.body.confirmationToken });
}
