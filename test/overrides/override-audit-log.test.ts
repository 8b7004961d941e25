import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OverseerDaemon } from "../../app/overseer-daemon.ts";
import { compileConfig } from "../../daemon/config/compile-config.ts";
import { createLogger } from "../../daemon/telemetry/logger.ts";
import { call } from "../helpers/api-client.ts";
import { dropNamespace } from "../helpers/namespace-cleanup.ts";
import { daemonEnv, freshNamespace, TOKENS } from "../helpers/test-env.ts";

/**
 * An override's failed confirmations are audited (who, which action, why it failed), and every step
 * that changes something (executed, undone, rejected) is a log line at info with the override id,
 * actor, action and scope. The daemon logs at info into a buffer: what an operator's log shows.
 */
const ns = freshNamespace();
const lines: string[] = [];
let daemon: OverseerDaemon;
let url = "";

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const config = compileConfig(daemonEnv(ns, { OVERSEER_CONTROL_RATE_BURST: "1000" }));
  daemon = new OverseerDaemon({ config, logger: createLogger("info", sink) });
  url = await daemon.start();
});
afterAll(async () => {
  await daemon?.stop();
  await dropNamespace(ns);
});

const override = (body: Record<string, unknown>, token = TOKENS.admin) =>
  call(url, "POST", "/api/dashboard/system/emergency-override", { token, body });

/** The info lines of `override.step` with this outcome, parsed. */
const logged = (outcome: string) =>
  lines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.event === "override.step" && l.outcome === outcome);

async function audit(action: string) {
  const r = await call(url, "GET", `/api/audit?action=${action}&limit=50`, { token: TOKENS.operator });
  expect(r.status, r.text).toBe(200);
  return r.body.entries as Array<Record<string, unknown>>;
}

describe("override audit and logs", () => {
  it("audits each failed confirmation with the actor, the action and why it failed", async () => {
    const body = { action: "stop_all_tasks", reason: "incident 7" };
    const dry = await override(body);
    expect(dry.status, dry.text).toBe(200);
    const failures: Array<[Record<string, unknown>, string]> = [
      [{ ...body, confirmationToken: "ovc_bogus" }, "is unknown"],
      [{ ...body, reason: "incident 8", confirmationToken: dry.body.confirmationToken }, "other parameters"],
    ];
    for (const [attempt, why] of failures) {
      const r = await override(attempt);
      expect(r.status).toBe(409);
      expect(r.body.error.message).toContain(why);
    }
    const entries = await audit("override.confirmation_failed");
    expect(entries).toHaveLength(2);
    for (const [i, [attempt, why]] of [...failures].reverse().entries()) {
      const e = entries[i] as Record<string, unknown>;
      expect(e).toMatchObject({
        actor: "admin",
        targetKind: "override",
        targetId: "stop_all_tasks",
        data: { code: "OVS_ERR_CONFIRMATION_INVALID", operatorReason: attempt.reason },
      });
      expect(e.reason).toContain(why);
      expect(e.requestId).toMatch(/^[0-9a-f-]{36}$/);
    }
    // The token was not used up by the failures: the right body still executes it.
    const run = await override({ ...body, confirmationToken: dry.body.confirmationToken });
    expect(run.status, run.text).toBe(200);
    // A conflict found at confirmation is a failed confirmation too.
    const second = await override({ ...body, reason: "again" });
    const conflict = await override({
      ...body,
      reason: "again",
      confirmationToken: second.body.confirmationToken,
    });
    expect(conflict.status).toBe(409);
    const after = await audit("override.confirmation_failed");
    expect(after[0]).toMatchObject({
      actor: "admin",
      targetId: "stop_all_tasks",
      data: { code: "OVS_ERR_OVERRIDE_STATE_CONFLICT", operatorReason: "again" },
    });

    const rejected = logged("rejected");
    expect(rejected).toHaveLength(3);
    expect(rejected[0]).toMatchObject({
      level: 30,
      overrideId: null,
      action: "stop_all_tasks",
      actor: "admin",
      scope: "every claim in the namespace",
    });
    expect(String(rejected[0]?.reason)).toContain("is unknown");
    await call(url, "POST", `/api/dashboard/system/overrides/${run.body.override.id}/undo`, {
      token: TOKENS.admin,
      body: { reason: "cleanup" },
    });
  });

  it("logs executing and undoing an override at info with its id, actor, action and scope", async () => {
    const body = { action: "system_maintenance", reason: "db upgrade", expiresInMs: 600_000 };
    const dry = await override(body);
    const run = await override({ ...body, confirmationToken: dry.body.confirmationToken });
    expect(run.status, run.text).toBe(200);
    const id = run.body.override.id as string;
    const undo = await call(url, "POST", `/api/dashboard/system/overrides/${id}/undo`, {
      token: TOKENS.admin,
      body: { reason: "upgrade done" },
    });
    expect(undo.status, undo.text).toBe(200);

    const scope = "every task submit and pipeline execute in the namespace";
    const executed = logged("executed").find((l) => l.overrideId === id);
    expect(executed).toMatchObject({
      level: 30,
      msg: "override.step",
      overrideId: id,
      actor: "admin",
      action: "system_maintenance",
      reason: "db upgrade",
      scope,
    });
    const undone = logged("undone").find((l) => l.overrideId === id);
    expect(undone).toMatchObject({
      level: 30,
      overrideId: id,
      actor: "admin",
      action: "system_maintenance",
      reason: "upgrade done",
      scope,
    });
    console.log(`overrides-log: ${JSON.stringify(executed)}\noverrides-log: ${JSON.stringify(undone)}`);
  });
});
