import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { TOKENS } from "../helpers/test-env.ts";
import { runCli } from "./cli-process.ts";

/**
 * The CLI drives a heal and an override end to end against a running daemon (issue 6, acceptance 6),
 * through the contract endpoints POST /api/dashboard/recovery/auto-heal and
 * /api/dashboard/system/emergency-override, /overrides/:id/undo, and GET /api/audit.
 */
describe("overseer CLI: heal and override end to end", () => {
  let d: TestDaemon;
  let url: string;
  let deadTaskId: string;
  const lines: string[] = [];

  beforeAll(async () => {
    d = await startTestDaemon();
    url = d.url;
    // Something to heal: a task dead-lettered after a transient failure, dead long enough that
    // auto-heal's backoff allows a retry (its finish time is moved back rather than waited for).
    const agent = await d.registerAgent("ctl-w1", ["ctl.work"], { role: "ctl-worker" });
    const submitted = await d.api("POST", "/api/tasks", {
      body: { type: "ctl.work", payload: {}, maxAttempts: 1 },
    });
    deadTaskId = submitted.body.id;
    const claim = await d.api("POST", `/api/agents/${agent.id}/claim`, {
      token: agent.token,
      body: { max: 1, waitMs: 1_000 },
    });
    const lease = claim.body.tasks[0];
    const fail = await d.api("POST", `/api/tasks/${deadTaskId}/fail`, {
      token: agent.token,
      body: {
        leaseToken: lease.leaseToken,
        error: { message: "upstream timeout", category: "timeout", retryable: true },
      },
    });
    expect(fail.status).toBe(200);
    const db = await namespaceDb(d.namespace);
    try {
      const r = await db.query(
        "UPDATE tasks SET finished_at = now() - interval '5 minutes', updated_at = now() - interval '5 minutes' WHERE id = $1 AND state = 'dead'",
        [deadTaskId],
      );
      expect(r.rowCount).toBe(1);
    } finally {
      await db.end();
    }
  });
  afterAll(async () => {
    if (lines.length > 0) console.log(`cli-acceptance: ${lines.join("; ")}`);
    await d?.close();
  });

  it("heal --dry-run returns the plan and does nothing; heal executes it", async () => {
    const env = { OVERSEER_URL: url, OVERSEER_TOKEN: TOKENS.operator };
    const dry = await runCli(["heal", "--strategy", "conservative", "--dry-run", "--json"], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json).toMatchObject({ strategy: "conservative", dryRun: true, executed: [] });
    expect(dry.json.plan).toContainEqual(
      expect.objectContaining({ action: "retry_dead_task", target: deadTaskId }),
    );
    expect((await d.api("GET", `/api/tasks/${deadTaskId}`)).body.state).toBe("dead");

    const heal = await runCli(["heal", "--strategy", "conservative", "--json"], env);
    expect(heal.code, heal.stderr).toBe(0);
    expect(heal.json).toMatchObject({ strategy: "conservative", dryRun: false });
    expect(heal.json.executed).toContainEqual(
      expect.objectContaining({ action: "retry_dead_task", target: deadTaskId }),
    );
    expect((await d.api("GET", `/api/tasks/${deadTaskId}`)).body.state).not.toBe("dead");

    const text = await runCli(["heal", "--dry-run"], env);
    expect(text.stdout).toContain("plan (dry run, nothing done)");
    // A viewer may not heal: exit 5; an unknown strategy is a usage error before any call.
    expect((await runCli(["heal", "--dry-run"], { ...env, OVERSEER_TOKEN: TOKENS.viewer })).code).toBe(5);
    expect((await runCli(["heal", "--strategy", "reckless"], env)).code).toBe(2);
    lines.push(
      `heal --dry-run: plan=${JSON.stringify(dry.json.plan.map((p: { action: string }) => p.action))}, task still dead; heal: executed=${JSON.stringify(heal.json.executed)}, task ${(await d.api("GET", `/api/tasks/${deadTaskId}`)).body.state}`,
    );
  });

  it("override: refuses without a TTY and --yes, executes with --yes, is audited, and undoes", async () => {
    const env = { OVERSEER_URL: url, OVERSEER_TOKEN: TOKENS.admin };
    const reason = "cli acceptance: drill";

    const noReason = await runCli(["override", "stop_all_tasks", "--yes"], env);
    expect(noReason.code).toBe(2);

    // No terminal to ask on and no --yes: the dry run shows the impact, then the CLI refuses.
    const refused = await runCli(["override", "stop_all_tasks", "--reason", reason, "--json"], env);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain("impact");
    expect(JSON.parse(refused.stderr.trim().split("\n").at(-1) as string).error.code).toBe(
      "OVS_CLI_NOT_CONFIRMED",
    );
    const before = await d.api("GET", "/api/dashboard/system/overrides", { token: TOKENS.viewer });
    expect(before.body.overrides.filter((o: { state: string }) => o.state === "active")).toEqual([]);

    const run = await runCli(
      ["override", "stop_all_tasks", "--reason", reason, "--expires", "10m", "--yes", "--json"],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    const override = run.json.override;
    expect(run.json.dryRun).toBe(false);
    expect(override).toMatchObject({ action: "stop_all_tasks", reason, state: "active" });
    expect(override.expiresAt).not.toBeNull();

    // The health read and `status` show it as active.
    const status = await runCli(["status", "--json"], env);
    expect(status.json.overrides.map((o: { id: string }) => o.id)).toContain(override.id);

    // Only an admin may override: an operator gets 5 before anything happens.
    const operator = await runCli(["override", "stop_all_tasks", "--reason", reason, "--yes"], {
      ...env,
      OVERSEER_TOKEN: TOKENS.operator,
    });
    expect(operator.code).toBe(5);

    const undo = await runCli(["override", "undo", override.id, "--reason", "drill over", "--json"], env);
    expect(undo.code, undo.stderr).toBe(0);
    expect(undo.json.override).toMatchObject({ id: override.id, state: "undone" });
    const again = await runCli(["override", "undo", override.id, "--reason", "twice"], env);
    expect([3, 6]).toContain(again.code);

    const audit = await runCli(["audit", "--json", "--since", "10m"], env);
    expect(audit.code).toBe(0);
    const mine = audit.json.entries.filter(
      (e: { targetId: string; reason: string }) => e.targetId === override.id || e.reason === reason,
    );
    expect(mine.length).toBeGreaterThanOrEqual(2);
    lines.push(
      `override stop_all_tasks: no TTY and no --yes exit 3; --yes exit 0 → ${override.id} active; undo exit 0 → undone; audit entries for it: ${mine.length} (${mine.map((e: { action: string }) => e.action).join(", ")})`,
    );
  });
});
