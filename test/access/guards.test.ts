import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ControlRateLimiter, principalKey } from "../../api/control-rate-limit.ts";
import type { RouteEntry } from "../../api/server.ts";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { TOKENS } from "../helpers/test-env.ts";

/** Agent ownership, control rate limits and body size bounds (docs/access-control.md). */
let d: TestDaemon;

beforeAll(async () => {
  d = await startTestDaemon({
    OVERSEER_CONTROL_RATE_BURST: "3",
    OVERSEER_CONTROL_RATE_PER_MINUTE: "1",
    OVERSEER_MAX_BODY_BYTES: "2048",
  });
});
afterAll(async () => {
  await d?.close();
});

describe("an agent token acts only on its own agent and leases", () => {
  it("refuses another agent's id with 403, and another agent's lease with 409 (as a stale one: issue 15)", async () => {
    const a = await d.registerAgent("own-a", ["own.work"]);
    const b = await d.registerAgent("own-b", ["own.work"]);
    for (const [method, path, body] of [
      ["POST", `/api/agents/${b.id}/heartbeat`, {}],
      ["POST", `/api/agents/${b.id}/claim`, { max: 1 }],
      ["DELETE", `/api/agents/${b.id}`, undefined],
    ] as const) {
      const r = await d.api(method, path, { token: a.token, body });
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.body.error.code).toBe("OVS_ERR_FORBIDDEN");
    }
    const submitted = await d.api("POST", "/api/tasks", { body: { type: "own.work", payload: {} } });
    expect(submitted.status).toBe(202);
    const leased = await d.api("POST", `/api/agents/${b.id}/claim`, {
      token: b.token,
      body: { max: 1, waitMs: 2_000 },
    });
    const task = leased.body.tasks[0];
    expect(task?.id).toBe(submitted.body.id);
    for (const action of ["progress", "complete", "fail", "release"]) {
      const body =
        action === "fail"
          ? { leaseToken: task.leaseToken, error: { message: "x" } }
          : { leaseToken: task.leaseToken, result: {}, percent: 10 };
      const r = await d.api("POST", `/api/tasks/${task.id}/${action}`, { token: a.token, body });
      expect(r.status, `${action}: ${r.text}`).toBe(409);
      expect(r.body.error.code).toBe("OVS_ERR_LEASE_CONFLICT");
      expect(r.body.error.message).not.toMatch(/another agent/);
    }
    // B's lease is untouched by A's attempts: B completes it.
    const done = await d.api("POST", `/api/tasks/${task.id}/complete`, {
      token: b.token,
      body: { leaseToken: task.leaseToken, result: { ok: true } },
    });
    expect(done.status, done.text).toBe(200);
    // An operator token is no agent: it cannot report on a lease either.
    const op = await d.api("POST", `/api/tasks/${task.id}/complete`, {
      body: { leaseToken: task.leaseToken },
    });
    expect(op.status).toBe(403);
  });
});

// Before the rate-limit tests: they use up the admin token's control burst.
describe("body sizes are bounded", () => {
  it("answers 413 with the error body for a body over OVERSEER_MAX_BODY_BYTES", async () => {
    for (const path of ["/api/tasks", "/api/dashboard/system/emergency-override"]) {
      const r = await d.api("POST", path, {
        token: TOKENS.admin,
        body: { type: "big", reason: "x", payload: { blob: "x".repeat(4_096) } },
      });
      expect(r.status, path).toBe(413);
      expect(r.body.error.code).toBe("OVS_ERR_BODY_TOO_LARGE");
      expect(typeof r.body.error.message).toBe("string");
    }
    const rows = await d.api("GET", "/api/dashboard/system/overrides", { token: TOKENS.viewer });
    expect(rows.body.overrides).toEqual([]);
  });
});

describe("control routes are rate limited per token", () => {
  it("marks the override routes as control routes", () => {
    const table = (d.daemon.app as unknown as { routeTable: RouteEntry[] }).routeTable;
    const control = table.filter((r) => r.config.rateLimit === "control").map((r) => `${r.method} ${r.url}`);
    expect(control).toContain("POST /api/dashboard/system/emergency-override");
    expect(control).toContain("POST /api/dashboard/system/overrides/:id/undo");
    console.log(`access: control routes (rate limited): ${control.join(", ")}`);
  });

  it("answers 429 with Retry-After and OVS_ERR_RATE_LIMITED past the burst", async () => {
    const body = { action: "stop_all_tasks", reason: "rate test" };
    // The burst is 3; the body-size test above spent one of them (a refused request still counts).
    for (let i = 0; i < 2; i++) {
      const r = await d.api("POST", "/api/dashboard/system/emergency-override", {
        token: TOKENS.admin,
        body,
      });
      expect(r.status, r.text).toBe(200);
    }
    const limited = await fetch(`${d.url}/api/dashboard/system/emergency-override`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKENS.admin}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe("OVS_ERR_RATE_LIMITED");
    // Reads are not control routes: still served.
    expect((await d.api("GET", "/api/dashboard/system/overrides", { token: TOKENS.admin })).status).toBe(200);
  });

  it("keeps one bucket per principal and refills at the configured rate (clock injected)", () => {
    let now = 0;
    const limiter = new ControlRateLimiter(2, 60, () => now);
    const admin = principalKey({ kind: "role", role: "admin" });
    const operator = principalKey({ kind: "role", role: "operator" });
    expect(limiter.take(admin)).toBeNull();
    expect(limiter.take(admin)).toBeNull();
    expect(limiter.take(admin)).toBe(1);
    expect(limiter.take(operator)).toBeNull();
    now += 1_000;
    expect(limiter.take(admin)).toBeNull();
    expect(limiter.take(admin)).toBe(1);
    now += 60_000;
    expect(limiter.take(admin)).toBeNull();
    expect(limiter.take(admin)).toBeNull();
    expect(limiter.take(admin)).not.toBeNull();
    expect(principalKey({ kind: "agent", agentId: "a1" })).toBe("agent:a1");
  });
});

describe("a 403 says which tokens may call the route (issue 15)", () => {
  it("a viewer registering is told the route needs the agent secret or an admin token", async () => {
    const r = await d.api("POST", "/api/agents/register", {
      token: TOKENS.viewer,
      body: { name: "v", role: "worker", capabilities: ["x"] },
    });
    expect(r.status).toBe(403);
    expect(r.body.error).toMatchObject({
      code: "OVS_ERR_FORBIDDEN",
      message: "this route needs the agent secret or an admin token",
    });
    const a = await d.registerAgent("asks-tasks", ["own.other"]);
    const list = await d.api("POST", "/api/tasks", { token: a.token, body: { type: "x", payload: {} } });
    expect(list.status).toBe(403);
    expect(list.body.error.message).toBe("this route needs an operator or admin token");
  });
});
