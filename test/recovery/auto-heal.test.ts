import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "../helpers/api-client.ts";
import { eventually, startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { TOKENS } from "../helpers/test-env.ts";
import { metricValue } from "./recovery-fixtures.ts";

describe("POST /api/dashboard/recovery/auto-heal: dry run vs execution", () => {
  let d: TestDaemon;

  beforeAll(async () => {
    d = await startTestDaemon();
  });
  afterAll(async () => {
    await d?.close();
  });

  /** A task dead-lettered after its one attempt failed (retryably) with `category`. */
  async function deadTask(category: string): Promise<string> {
    const agent = await d.registerAgent(`heal-${category}`, [`heal.${category}`]);
    const task = await d.api("POST", "/api/tasks", {
      body: { type: `heal.${category}`, payload: {}, maxAttempts: 1 },
    });
    const claim = await d.api("POST", `/api/agents/${agent.id}/claim`, {
      token: agent.token,
      body: { max: 1, waitMs: 2_000 },
    });
    const lease = claim.body.tasks[0];
    const failed = await d.api("POST", `/api/tasks/${lease.id}/fail`, {
      token: agent.token,
      body: { leaseToken: lease.leaseToken, error: { message: "boom", category, retryable: true } },
    });
    expect(failed.status).toBeLessThan(300);
    expect((await d.api("GET", `/api/tasks/${task.body.id}`)).body.state).toBe("dead");
    return task.body.id;
  }

  it("plans the retry of a transiently failed dead task without touching it, then executes it with an audit record", async () => {
    const transient = await deadTask("rate_limit");
    const invalid = await deadTask("validation");
    const db = await namespaceDb(d.namespace);
    try {
      // Heal retries wait for the task to have been dead a while (backoff): age the records.
      await db.query(
        "UPDATE tasks SET finished_at = now() - interval '1 minute', updated_at = now() - interval '1 minute' WHERE id = ANY($1)",
        [[transient, invalid]],
      );
      const dry = await d.api("POST", "/api/dashboard/recovery/auto-heal", {
        body: { strategy: "conservative" },
      });
      expect(dry.status).toBe(200);
      expect(dry.body).toMatchObject({ strategy: "conservative", dryRun: true, executed: [], skipped: [] });
      expect(dry.body.plan).toEqual([
        { action: "retry_dead_task", target: transient, reason: expect.stringContaining("rate_limit") },
      ]);
      expect((await d.api("GET", `/api/tasks/${transient}`)).body.state).toBe("dead");
      expect(
        (await db.query("SELECT count(*)::int AS n FROM audit_log WHERE action LIKE 'heal.%'")).rows[0].n,
      ).toBe(0);

      const run = await d.api("POST", "/api/dashboard/recovery/auto-heal", {
        body: { strategy: "conservative", dryRun: false },
      });
      expect(run.status).toBe(200);
      expect(run.body.dryRun).toBe(false);
      expect(run.body.executed).toEqual([
        { action: "retry_dead_task", target: transient, outcome: "executed" },
      ]);
      expect((await d.api("GET", `/api/tasks/${transient}`)).body.state).toBe("queued");
      expect((await d.api("GET", `/api/tasks/${invalid}`)).body.state).toBe("dead");
      const audit = await db.query(
        "SELECT actor, action, target_kind, target_id, request_id, data FROM audit_log WHERE action LIKE 'heal.%'",
      );
      expect(audit.rows).toEqual([
        {
          actor: "operator",
          action: "heal.retry_dead_task",
          target_kind: "task",
          target_id: transient,
          request_id: expect.any(String),
          data: { strategy: "conservative", outcome: "executed", trigger: "api", subject: transient },
        },
      ]);
      // The heal's retry is the one operator retry: audited as task.retry too, under the heal's caller.
      const retry = await db.query(
        "SELECT actor, reason, request_id, data FROM audit_log WHERE action = 'task.retry' AND target_id = $1",
        [transient],
      );
      expect(retry.rows).toEqual([
        {
          actor: "operator",
          reason: expect.stringContaining("auto-heal"),
          request_id: audit.rows[0].request_id,
          data: { type: expect.any(String), priorityBoost: 0 },
        },
      ]);
      const metrics = (await call(d.url, "GET", "/metrics")).text;
      expect(
        metricValue(metrics, "overseer_heal_actions_total", {
          strategy: "conservative",
          action: "retry_dead_task",
          outcome: "executed",
        }),
      ).toBe(1);
      // Level-triggered: nothing is left to do, so a second pass plans nothing.
      const again = await d.api("POST", "/api/dashboard/recovery/auto-heal", {
        body: { strategy: "aggressive" },
      });
      expect(again.body.plan).toEqual([]);
      console.log(
        `recovery-acceptance: auto-heal dry run planned=${dry.body.plan.length} executed=0; execution executed=${run.body.executed.length} audit=${audit.rows.length}`,
      );
    } finally {
      await db.end();
    }
  });
  it("smart quarantines a flapping agent: it claims nothing while the queue keeps its task", async () => {
    for (let i = 0; i < 3; i++) await d.registerAgent("flappy", ["heal.flap"], { silent: true });
    const db = await namespaceDb(d.namespace);
    try {
      await eventually(
        async () =>
          (
            await db.query(
              "SELECT count(*)::int AS n FROM agent_transitions t JOIN agents a ON a.id = t.agent_id WHERE a.name = 'flappy' AND t.to_state = 'dead'",
            )
          ).rows[0].n === 3,
        20_000,
        "three deaths of flappy",
      );
    } finally {
      await db.end();
    }
    const live = await d.registerAgent("flappy", ["heal.flap"]);
    const run = await d.api("POST", "/api/dashboard/recovery/auto-heal", {
      body: { strategy: "smart", dryRun: false },
    });
    // Quarantine is keyed by the registration name: ids change on every registration.
    expect(run.body.executed).toContainEqual({
      action: "quarantine_agent",
      target: "flappy",
      outcome: "executed",
    });
    const task = await d.api("POST", "/api/tasks", { body: { type: "heal.flap", payload: {} } });
    const claim = await d.api("POST", `/api/agents/${live.id}/claim`, {
      token: live.token,
      body: { waitMs: 0 },
    });
    expect(claim.body.tasks).toEqual([]);
    expect((await d.api("GET", `/api/tasks/${task.body.id}`)).body.state).toBe("queued");
    const gates = await d.api("GET", "/api/dashboard/recovery/managed-agents", { token: TOKENS.viewer });
    expect(Object.keys(gates.body.quarantinedAgents)).toEqual(["flappy"]);
    // The flapping agent registers again under a new id: still quarantined.
    const again = await d.registerAgent("flappy", ["heal.flap"]);
    expect(again.id).not.toBe(live.id);
    const reclaim = await d.api("POST", `/api/agents/${again.id}/claim`, {
      token: again.token,
      body: { waitMs: 0 },
    });
    expect(reclaim.body.tasks).toEqual([]);
    expect((await d.api("GET", `/api/tasks/${task.body.id}`)).body.state).toBe("queued");
    // Another agent of the type still gets the task.
    const other = await d.registerAgent("steady", ["heal.flap"]);
    const got = await d.api("POST", `/api/agents/${other.id}/claim`, {
      token: other.token,
      body: { waitMs: 2_000 },
    });
    expect(got.body.tasks.map((t: { id: string }) => t.id)).toEqual([task.body.id]);
  });
});
