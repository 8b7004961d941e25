import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { TOKENS } from "../helpers/test-env.ts";

describe("/readyz and GET /api/dashboard/system/health", () => {
  let d: TestDaemon;
  beforeAll(async () => {
    d = await startTestDaemon();
  });
  afterAll(async () => {
    await d?.close();
  });

  it("/readyz checks Redis, Postgres, migrations and the leader, each with detail", async () => {
    const r = await eventually(
      async () => {
        const res = await d.api("GET", "/readyz", { token: null });
        return res.status === 200 ? res : null;
      },
      10_000,
      "ready",
    );
    expect(r.body.status).toBe("ready");
    expect(Object.keys(r.body.checks).sort()).toEqual(["leader", "migrations", "postgres", "redis"]);
    for (const check of Object.values(r.body.checks) as Array<{
      ok: boolean;
      latencyMs: number;
      detail: string;
    }>) {
      expect(check.ok).toBe(true);
      expect(typeof check.latencyMs).toBe("number");
      expect(typeof check.detail).toBe("string");
    }
    expect(r.body.checks.migrations.detail).toBe("all applied");
    expect(r.body.checks.leader.detail).toBe("this replica leads");
  });

  it("/readyz is 503 and names the migration when one is not applied", async () => {
    const db = await namespaceDb(d.namespace);
    try {
      const { rows } = await db.query("SELECT name, run_on FROM pgmigrations ORDER BY name DESC LIMIT 1");
      const last = rows[0];
      await db.query("DELETE FROM pgmigrations WHERE name = $1", [last.name]);
      try {
        const r = await d.api("GET", "/readyz", { token: null });
        expect(r.status).toBe(503);
        expect(r.body.checks.migrations).toMatchObject({ ok: false, detail: `not applied: ${last.name}` });
        const h = await d.api("GET", "/api/dashboard/system/health", { token: TOKENS.viewer });
        expect(h.body.components.postgres.status).toBe("degraded");
      } finally {
        await db.query("INSERT INTO pgmigrations (name, run_on) VALUES ($1, $2)", [last.name, last.run_on]);
      }
    } finally {
      await db.end();
    }
  });

  it("answers every component with status and latency, a score and the active overrides", async () => {
    await d.registerAgent("w1", ["work"], { role: "worker" });
    const r = await d.api("GET", "/api/dashboard/system/health", { token: TOKENS.viewer });
    expect(r.status).toBe(200);
    const { components } = r.body;
    expect(Object.keys(components).sort()).toEqual(
      ["agents", "canary", "eventLoop", "leader", "loops", "overrides", "postgres", "queues", "redis"].sort(),
    );
    for (const c of Object.values(components) as Array<{ status: string; latencyMs: number | null }>) {
      expect(["ok", "degraded", "down", "unknown"]).toContain(c.status);
      expect(c.latencyMs === null || typeof c.latencyMs === "number").toBe(true);
    }
    expect(components.postgres.status).toBe("ok");
    expect(components.redis.status).toBe("ok");
    expect(components.leader.detail.isThisReplica).toBe(true);
    expect(components.agents.detail.byRole.worker.active).toBe(1);
    // The test harness turns the canary off: unknown, never a made-up success.
    expect(components.canary.status).toBe("unknown");
    expect(typeof components.eventLoop.detail.p99Seconds).toBe("number");
    expect(r.body.score).toBeGreaterThanOrEqual(0);
    expect(r.body.score).toBeLessThanOrEqual(100);
    expect(Array.isArray(r.body.overrides)).toBe(true);
    expect(Number.isNaN(Date.parse(r.body.checkedAt))).toBe(false);
  });

  it("needs a viewer token", async () => {
    expect((await d.api("GET", "/api/dashboard/system/health", { token: null })).status).toBe(401);
  });
});
