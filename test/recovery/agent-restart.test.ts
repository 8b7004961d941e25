import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { TOKENS } from "../helpers/test-env.ts";
import { managedFile, RUN_AGENT, recordEvents } from "./recovery-fixtures.ts";

interface ManagedView {
  name: string;
  state: string;
  pid: number | null;
  agentId: string | null;
}

describe("POST /api/dashboard/agents/:id/restart", () => {
  let d: TestDaemon;

  beforeAll(async () => {
    d = await startTestDaemon({
      OVERSEER_MANAGED_AGENTS_FILE: managedFile([
        {
          name: "worker",
          command: process.execPath,
          args: ["--import", "tsx", RUN_AGENT],
          env: { AGENT_CAPABILITIES: "rs.managed", AGENT_WORK_MS: "60000", LOG_LEVEL: "warn" },
          stopGraceMs: 3_000,
        },
      ]),
    });
  });
  afterAll(async () => {
    await d?.close();
  });

  const managed = async (): Promise<ManagedView> =>
    (await d.api("GET", "/api/dashboard/recovery/managed-agents")).body.managed[0];

  it("restarts a managed agent's process (new pid, new registration) after releasing its leases", async () => {
    const first = await eventually(
      async () => {
        const m = await managed();
        return m.state === "running" && m.agentId ? m : null;
      },
      30_000,
      "managed worker registered",
    );
    const task = await d.api("POST", "/api/tasks", { body: { type: "rs.managed", payload: {} } });
    await eventually(
      async () => (await d.api("GET", `/api/tasks/${task.body.id}`)).body.state === "active",
      20_000,
      "task leased by the managed worker",
    );
    const events = recordEvents(d.daemon, ["task.requeued", "managed.exited", "agent.restart_requested"]);
    const r = await d.api("POST", `/api/dashboard/agents/${first.agentId}/restart`, {
      body: { reason: "stuck on a long task" },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ agentId: first.agentId, mode: "restart", via: "managed" });
    expect(r.body.releasedTaskIds).toEqual([task.body.id]);
    expect(r.body.managed.previousPid).toBe(first.pid);
    expect(r.body.managed.pid).toEqual(expect.any(Number));
    expect(r.body.managed.pid).not.toBe(first.pid);

    // The lease was released (not counted) before the process was told to stop.
    const order = events.map((e) => e.type);
    expect(order.indexOf("task.requeued")).toBeGreaterThanOrEqual(0);
    expect(order.indexOf("task.requeued")).toBeLessThan(order.indexOf("managed.exited"));
    const second = await eventually(
      async () => {
        const m = await managed();
        return m.state === "running" && m.agentId && m.agentId !== first.agentId ? m : null;
      },
      30_000,
      "the new process registered",
    );
    expect(second.pid).toBe(r.body.managed.pid);

    const db = await namespaceDb(d.namespace);
    try {
      const attempts = await db.query(
        "SELECT agent_id, outcome FROM task_attempts WHERE task_id = $1 ORDER BY attempt",
        [task.body.id],
      );
      expect(attempts.rows[0]).toEqual({ agent_id: first.agentId, outcome: "released" });
      const audit = await db.query(
        "SELECT actor, action, target_id, reason, request_id, impact FROM audit_log WHERE action = 'agent.restart'",
      );
      expect(audit.rows).toEqual([
        {
          actor: "operator",
          action: "agent.restart",
          target_id: first.agentId,
          reason: "stuck on a long task",
          request_id: expect.any(String),
          impact: { releasedTasks: 1, via: "managed" },
        },
      ]);
      console.log(
        `recovery-acceptance: managed restart: pid ${first.pid} -> ${second.pid}, agent ${first.agentId} -> ${second.agentId}, released=${r.body.releasedTaskIds.length} (attempt outcome ${attempts.rows[0].outcome})`,
      );
    } finally {
      await db.end();
    }
  });

  it("sends a remote agent restart or drain in its heartbeat answer, after releasing its leases", async () => {
    const agent = await d.registerAgent("remote-1", ["rs.remote"], { silent: true });
    const beat = () => d.api("POST", `/api/agents/${agent.id}/heartbeat`, { token: agent.token, body: {} });
    await beat();
    const task = await d.api("POST", "/api/tasks", { body: { type: "rs.remote", payload: {} } });
    const claim = await d.api("POST", `/api/agents/${agent.id}/claim`, {
      token: agent.token,
      body: { max: 1, waitMs: 2_000 },
    });
    expect(claim.body.tasks.map((t: { id: string }) => t.id)).toEqual([task.body.id]);

    const r = await d.api("POST", `/api/dashboard/agents/${agent.id}/restart`, {
      body: { reason: "drain before deploy", mode: "drain" },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      via: "command",
      mode: "drain",
      releasedTaskIds: [task.body.id],
      managed: null,
    });
    const got = await beat();
    expect(got.status).toBe(200);
    expect(got.body.commands).toEqual([
      { type: "cancel", taskId: task.body.id, reason: "released" },
      { type: "drain", reason: "drain before deploy" },
    ]);
    // Draining: it claims nothing more, and the task went back to the queue at once.
    const again = await d.api("POST", `/api/agents/${agent.id}/claim`, {
      token: agent.token,
      body: { waitMs: 0 },
    });
    expect(again.body.tasks).toEqual([]);
    expect((await d.api("GET", `/api/tasks/${task.body.id}`)).body.state).toBe("queued");

    const restart = await d.api("POST", `/api/dashboard/agents/${agent.id}/restart`, {
      body: { reason: "again" },
    });
    expect(restart.body).toMatchObject({ via: "command", mode: "restart", releasedTaskIds: [] });
    expect((await beat()).body.commands).toEqual([{ type: "restart", reason: "again" }]);
  });

  it("answers 404 for an unknown agent, 400 without a reason, 403 for a viewer", async () => {
    const unknown = await d.api(
      "POST",
      "/api/dashboard/agents/00000000-0000-4000-8000-000000000000/restart",
      {
        body: { reason: "x" },
      },
    );
    expect([unknown.status, unknown.body.error.code]).toEqual([404, "OVS_ERR_AGENT_NOT_FOUND"]);
    const agent = await d.registerAgent("remote-2", ["rs.remote"]);
    const noReason = await d.api("POST", `/api/dashboard/agents/${agent.id}/restart`, { body: {} });
    expect([noReason.status, noReason.body.error.code]).toEqual([400, "OVS_ERR_VALIDATION"]);
    const badMode = await d.api("POST", `/api/dashboard/agents/${agent.id}/restart`, {
      body: { reason: "x", mode: "explode" },
    });
    expect(badMode.status).toBe(400);
    const viewer = await d.api("POST", `/api/dashboard/agents/${agent.id}/restart`, {
      token: TOKENS.viewer,
      body: { reason: "x" },
    });
    expect(viewer.status).toBe(403);
  });
});
