import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify from "fastify";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { routeOptions } from "../../api/route-options.ts";
import { SYSTEM_ROUTES } from "../../contract/routes/system.ts";
import type { ActiveOverride, CanaryResult, SystemHealthReport } from "../../contract/schemas/system.ts";
import {
  type PostgresHealthPort,
  type RedisHealthPort,
  SystemHealth,
  type SystemHealthDeps,
} from "../../probes/system-health.ts";

// SystemHealth over fake ports (no Postgres, no Redis), and its report through the route's
// serializer: fast-json-stringify drops what the schema does not name, so every field must survive.

const NOW = Date.parse("2030-01-02T03:04:05.000Z");
const fail = () => Promise.reject(new Error("connection refused"));

const postgres = (over: Partial<PostgresHealthPort> = {}): PostgresHealthPort => ({
  ping: async () => {},
  pendingMigrations: async () => [],
  agentCountsByRole: async () => [
    { role: "worker", state: "active", count: 2 },
    { role: "worker", state: "dead", count: 1 },
    { role: "scout", state: "stale", count: 1 },
  ],
  queueStats: async () => [
    { state: "ready", count: 3, oldestAgeSeconds: 12.3456 },
    { state: "delayed", count: 1, oldestAgeSeconds: 1 },
    { state: "active", count: 2, oldestAgeSeconds: 4 },
  ],
  activeOverrides: async () => [],
  ...over,
});

const redis = (over: Partial<RedisHealthPort> = {}): RedisHealthPort => ({
  ping: async () => {},
  leaseHolder: async () => ({ replicaId: "me", epoch: 7, leaseRemainingMs: 2_500 }),
  ...over,
});

const canaryResult: CanaryResult = {
  role: "scout",
  outcome: "timeout",
  durationMs: 1_500,
  detail: "no agent claimed it within 1500 ms",
  taskId: "0b0d7c2e-8f4a-4d8e-9c43-3b0b1c2d3e4f",
  at: "2030-01-02T03:04:00.000Z",
};

function health(over: Partial<SystemHealthDeps> = {}): SystemHealth {
  return new SystemHealth({
    postgres: postgres(),
    redis: redis(),
    canaryResults: { all: async () => [canaryResult] },
    replicaId: "me",
    registry: new Registry(),
    canaryEnabled: true,
    lifecycle: () => "RUNNING",
    now: () => NOW,
    ...over,
  });
}

/** The report as a client receives it from GET /api/dashboard/system/health. */
async function served(report: SystemHealthReport): Promise<unknown> {
  const app = Fastify().withTypeProvider<TypeBoxTypeProvider>();
  app.route({ ...routeOptions(SYSTEM_ROUTES.health), handler: async () => report });
  const res = await app.inject({ method: "GET", url: SYSTEM_ROUTES.health.url });
  await app.close();
  expect(res.statusCode).toBe(200);
  return res.json();
}

/** What JSON makes of the report (latencies vary run to run, the shape must not). */
const json = (report: SystemHealthReport) => JSON.parse(JSON.stringify(report));

describe("SystemHealth over its ports", () => {
  it("answers every component with its own detail, and the serializer keeps all of it", async () => {
    const sh = health();
    sh.onEvent({ type: "loop.error", loop: "reconcile", message: "boom", at: NOW - 1_000 });
    const report = await sh.report();
    expect(report.components.leader.detail).toEqual({
      replicaId: "me",
      epoch: 7,
      isThisReplica: true,
      leaseRemainingMs: 2_500,
    });
    expect(report.components.agents).toMatchObject({
      status: "degraded",
      detail: { byRole: { worker: { active: 2, dead: 1 }, scout: { stale: 1 } } },
    });
    expect(report.components.queues.detail).toEqual({
      ready: 3,
      delayed: 1,
      active: 2,
      oldestReadyAgeSeconds: 12.346,
      degradedAfterSeconds: 300,
    });
    expect(report.components.canary).toMatchObject({ status: "down", detail: { roles: [canaryResult] } });
    expect(report.components.loops).toEqual({
      status: "degraded",
      latencyMs: null,
      detail: {
        lifecycle: "RUNNING",
        failingInLastMinute: {
          reconcile: {
            lastErrorAt: new Date(NOW - 1_000).toISOString(),
            lastError: "boom",
            errorsSinceStart: 1,
          },
        },
      },
    });
    // No event-loop samples in a fresh registry: null, never NaN.
    expect(report.components.eventLoop.detail).toEqual({
      p99Seconds: null,
      meanSeconds: null,
      maxSeconds: null,
    });
    expect(report.checkedAt).toBe(new Date(NOW).toISOString());
    expect(await served(report)).toEqual(json(report));
  });

  it("a check that fails is down with {error}; the report still answers and the serializer keeps the error", async () => {
    const report = await health({
      postgres: postgres({ ping: fail, agentCountsByRole: fail, queueStats: fail, activeOverrides: fail }),
      redis: redis({ ping: fail, leaseHolder: fail }),
      canaryResults: { all: fail },
    }).report();
    for (const name of ["postgres", "redis", "leader", "agents", "queues", "canary", "overrides"] as const) {
      expect(report.components[name]).toMatchObject({
        status: "down",
        detail: { error: "connection refused" },
      });
    }
    expect(report.status).toBe("down");
    expect(report.overrides).toEqual([]);
    expect(await served(report)).toEqual(json(report));
  });

  it("no leader, pending migrations, no canary yet, overrides active or not set up: each detail as the contract has it", async () => {
    const override: ActiveOverride = {
      id: "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
      action: "stop_all_tasks",
      reason: "incident 42",
      actor: "admin",
      state: "active",
      startedAt: "2030-01-02T03:00:00.000Z",
      expiresAt: null,
      impact: { pausedTypes: ["a", "b"], nested: { n: 1 } },
    };
    const first = await health({
      postgres: postgres({
        pendingMigrations: async () => ["1733270400000_retention"],
        activeOverrides: async () => [override],
      }),
      redis: redis({ leaseHolder: async () => null }),
      canaryResults: { all: async () => [] },
    }).report();
    expect(first.components.postgres).toMatchObject({
      status: "degraded",
      detail: { migrationsPending: ["1733270400000_retention"] },
    });
    expect(first.components.leader).toMatchObject({
      status: "down",
      detail: { leader: null, message: "no replica holds the lease" },
    });
    expect(first.components.canary).toMatchObject({ status: "unknown", detail: { roles: [] } });
    expect(first.components.canary.detail).toHaveProperty("message");
    expect(first.components.overrides).toMatchObject({
      status: "degraded",
      detail: { active: 1, actions: ["stop_all_tasks"] },
    });
    expect(first.overrides).toEqual([override]);
    expect(await served(first)).toEqual(json(first));

    const second = await health({
      postgres: postgres({ activeOverrides: async () => null }),
      canaryEnabled: false,
    }).report();
    expect(second.components.overrides).toMatchObject({
      status: "unknown",
      detail: { message: "overrides are not set up in this schema" },
    });
    expect(second.components.canary).toMatchObject({
      status: "unknown",
      detail: { message: "the canary is disabled" },
    });
    expect(await served(second)).toEqual(json(second));
  });

  it("readiness: each check with its detail; another replica's lease still counts", async () => {
    const ready = await health({
      redis: redis({ leaseHolder: async () => ({ replicaId: "other", epoch: 3, leaseRemainingMs: 100 }) }),
    }).readiness();
    expect(ready.ready).toBe(true);
    expect(ready.checks.leader).toMatchObject({ ok: true, detail: "another replica leads" });
    const notReady = await health({
      postgres: postgres({ pendingMigrations: async () => ["x", "y"] }),
      redis: redis({ leaseHolder: async () => null }),
    }).readiness();
    expect(notReady.ready).toBe(false);
    expect(notReady.checks.migrations).toMatchObject({ ok: false, detail: "not applied: x, y" });
    expect(notReady.checks.leader).toMatchObject({ ok: false, detail: "no replica holds the leader lease" });
  });
});
