import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { routeOptions } from "../../api/route-options.ts";
import type { RouteContract } from "../../contract/route.ts";
import { AUDIT_ROUTES } from "../../contract/routes/audit.ts";
import { COORDINATION_ROUTES as C } from "../../contract/routes/coordination.ts";
import { OVERRIDE_ROUTES as O } from "../../contract/routes/overrides.ts";
import { diagnose, overall } from "../../daemon/coordination/diagnostics-findings.ts";
import { RECOMMENDATIONS } from "../../daemon/coordination/failure-classifier.ts";
import { resetImpact } from "../../daemon/coordination/reset-plan.ts";
import { windowView, ZERO } from "../../daemon/coordination/success-rate.ts";
import { LoopStats } from "../../daemon/lifecycle/loop-stats.ts";

/**
 * Fastify serialises answers with fast-json-stringify, which drops what the schema does not name:
 * an incomplete reply schema loses data silently. Each answer here is shaped as its service builds
 * it (with the pure functions the services use where there are some), sent through the route's
 * contract, and must come back whole.
 */

const ID = "3f2b6c1e-8a4d-4e2b-9c7a-1d2e3f4a5b6c";
const ID2 = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f";
const AT = "2026-01-31T12:00:00.000Z";

async function roundTrip(
  route: RouteContract,
  status: number,
  body: unknown,
  request: { url?: string; payload?: unknown } = {},
) {
  const app = Fastify();
  app.route({ ...routeOptions(route), handler: async (_request, reply) => reply.code(status).send(body) });
  try {
    const res = await app.inject({
      method: route.method,
      url: request.url ?? route.url,
      ...(request.payload !== undefined ? { payload: request.payload as object } : {}),
    });
    expect(res.statusCode, res.body).toBe(status);
    return res.json();
  } finally {
    await app.close();
  }
}

const expectWhole = async (...args: Parameters<typeof roundTrip>) =>
  expect(await roundTrip(...args)).toEqual(JSON.parse(JSON.stringify(args[2])));

const loops = () => {
  const ok = new LoopStats();
  ok.started();
  ok.succeeded();
  const failing = new LoopStats();
  failing.started();
  failing.failed(new Error("boom"));
  return [ok.status("liveness", 1_000), failing.status("reconcile", 5_000), new LoopStats().status("x", 10)];
};

describe("coordination replies survive serialisation whole", () => {
  it("success rate: windows with and without a rate and trend, 24 hours", async () => {
    const busy = { completed: 40, failed: 6, timedOut: 2, lost: 2 };
    const before = { completed: 30, failed: 10, timedOut: 0, lost: 0 };
    await expectWhole(C.successRate, 200, {
      live: windowView(300_000, ZERO, ZERO),
      windows: {
        "1h": windowView(3_600_000, busy, before),
        "24h": windowView(86_400_000, busy, ZERO),
        "7d": windowView(604_800_000, ZERO, busy),
      },
      hourly: [
        { hourStart: AT, completed: 3, failed: 1, rate: 0.75 },
        { hourStart: AT, completed: 0, failed: 0, rate: null },
      ],
      checkedAt: AT,
    });
  });

  it("failures by class, and the error log", async () => {
    await expectWhole(
      C.failures,
      200,
      {
        window: "24h",
        windowMs: 86_400_000,
        total: 3,
        unclassified: 0,
        classes: [
          {
            class: "timeout",
            count: 2,
            share: 2 / 3,
            examples: [
              { taskId: ID, type: "t", message: "timed out after 5 ms", at: AT },
              { taskId: ID2, type: "t", message: null, at: AT },
            ],
            recommendation: RECOMMENDATIONS.timeout,
          },
          { class: "budget", count: 0, share: null, examples: [], recommendation: RECOMMENDATIONS.budget },
        ],
      },
      { url: `${C.failures.url}?window=24h` },
    );
    const event = {
      kind: "attempt_failed",
      at: AT,
      taskId: ID,
      type: "t",
      agentId: ID2,
      outcome: "failed",
      category: "tool_error",
      message: "nope",
    };
    await expectWhole(C.errorLog, 200, {
      window: "1h",
      limit: 100,
      total: 3,
      groups: [
        {
          pattern: "unknown",
          count: 1,
          latestAt: AT,
          events: [event],
          recommendation: RECOMMENDATIONS.unknown,
        },
        {
          pattern: "operator_reassign",
          count: 2,
          latestAt: AT,
          events: [
            { ...event, kind: "operator_reassign", outcome: "reassigned", category: null, agentId: null },
            { ...event, kind: "dead_letter", outcome: "dead", type: null, message: null },
          ],
          recommendation: null,
        },
      ],
      sources: [
        "task_attempts (failed, timed_out, lost)",
        "tasks (dead letters)",
        "audit_log (task.reassign)",
      ],
    });
  });

  it("distribution and an agent's metrics", async () => {
    await expectWhole(C.distribution, 200, {
      byState: { queued: 2, active: 1 },
      byType: { "a.t": { total: 3, queued: 2, active: 1 } },
      agents: [
        { agentId: ID, name: "a", role: "worker", state: "active", concurrency: 2, leases: 1, load: 0.5 },
      ],
    });
    const window = {
      completed: 3,
      failed: 2,
      byOutcome: { failed: 1, timedOut: 1, lost: 0 },
      successRate: 0.6,
      meanDurationMs: 12.5,
      meanCompletedDurationMs: null,
    };
    for (const heartbeat of [
      { ageMs: 120, source: "redis" },
      { ageMs: 5_000, source: "postgres" },
    ]) {
      await expectWhole(
        C.agentMetrics,
        200,
        {
          agentId: ID,
          name: "a",
          role: "worker",
          state: "stale",
          concurrency: 1,
          currentLeases: 1,
          heartbeat,
          windows: { "1h": window, "24h": { ...window, successRate: null, meanDurationMs: null } },
        },
        { url: `/api/dashboard/agents/${ID}/metrics` },
      );
    }
  });

  it("diagnostics with findings of every component", async () => {
    const snapshot = {
      nowMs: Date.parse(AT),
      queues: [
        { type: "a.t", pgReady: 3, pgDelayed: 1, bull: { waiting: 1, delayed: 0, active: 0 } },
        { type: "b.t", pgReady: 0, pgDelayed: 0, bull: null },
      ],
      activeLeases: 2,
      expiredLeases: { count: 1, oldestOverdueMs: 90_000 },
      mirrors: [{ agentId: ID, postgresLeases: 2, missingInRedis: 1, extraInRedis: 0 }],
      agents: [
        { id: ID, state: "dead", mirrorState: null, leases: 1, heartbeatAgeMs: null },
        { id: ID2, state: "stale", mirrorState: "active", leases: 1, heartbeatAgeMs: 7_000 },
      ],
      stores: {
        postgres: { ok: true, latencyMs: 300 },
        redis: { ok: false, latencyMs: null, error: "ECONNREFUSED" },
      },
      loops: loops(),
      sweepIntervalMs: 1_000,
    };
    const findings = diagnose(snapshot);
    expect(new Set(findings.map((f) => f.component)).size).toBe(5);
    await expectWhole(C.diagnostics, 200, {
      status: overall(findings),
      findings,
      checked: {
        stores: snapshot.stores,
        queues: snapshot.queues,
        leases: { active: snapshot.activeLeases, expired: snapshot.expiredLeases },
        agents: snapshot.agents.length,
        loops: snapshot.loops,
      },
      checkedAt: AT,
    });
  });

  it("reset: the dry run, and each level's execution", async () => {
    const snapshot = {
      orphanedLeases: 1,
      queuedTasks: 4,
      leasesOfInactiveAgents: 2,
      liveAgents: 3,
      activeAgents: 2,
    };
    const body = { level: "hard", reason: "drill" };
    await expectWhole(
      C.reset,
      200,
      {
        dryRun: true,
        action: "coordination.reset",
        level: "hard",
        impact: resetImpact("hard", snapshot),
        confirmationToken: "ovc_x",
        confirmationExpiresAt: AT,
      },
      { payload: body },
    );
    const reconcile = {
      requeuedMissing: 1,
      orphanedLeases: 0,
      untrackedLeases: 2,
      restoredAgents: 0,
      flushedHeartbeats: 3,
    };
    for (const [level, result] of [
      ["soft", { reconcile }],
      ["hard", { reconcile, releasedLeases: 2, mirrors: { agents: 3, heartbeatsDropped: 1 } }],
      [
        "full",
        { reconcile, releasedLeases: 0, mirrors: { agents: 1, heartbeatsDropped: 0 }, drainCommands: 1 },
      ],
    ] as const) {
      await expectWhole(
        C.reset,
        200,
        {
          dryRun: false,
          reset: {
            level,
            reason: "drill",
            actor: "admin",
            requestId: ID,
            startedAt: AT,
            finishedAt: AT,
            impact: resetImpact(level, snapshot),
            result,
          },
        },
        { payload: { ...body, level, confirmationToken: "ovc_x" } },
      );
    }
  });

  it("reassign and retry", async () => {
    for (const fromAgentId of [ID2, null]) {
      await expectWhole(
        C.reassign,
        200,
        { taskId: ID, type: "t", fromAgentId, toAgentId: ID2, state: "queued", reason: "spread" },
        { url: `/api/dashboard/tasks/${ID}/reassign`, payload: { reason: "spread" } },
      );
    }
    await expectWhole(
      C.retry,
      200,
      { taskId: ID, state: "queued", type: "t", from: "failed", priorityBefore: 10, priority: 15 },
      { url: `/api/dashboard/tasks/${ID}/retry`, payload: { priorityBoost: 5 } },
    );
  });
});

describe("override and audit replies survive serialisation whole", () => {
  const view = {
    id: ID,
    action: "clear_task_queue",
    state: "undone",
    reason: "poisoned batch",
    actor: "admin",
    startedAt: AT,
    expiresAt: null,
    endedAt: AT,
    endedBy: "admin",
    impact: { tasksToArchive: 25, byType: { "a.t": 25 }, note: "n", archived: 25, restored: 25 },
  };

  it("each action's dry run, an execution, the list and an undo", async () => {
    const impacts = {
      stop_all_tasks: { claimsPaused: true, queuedTasksHeld: 1, activeTasksUnaffected: 2, note: "n" },
      restart_all_agents: { agentsToRestart: 3, leasesToRelease: 1, note: "n" },
      clear_task_queue: { tasksToArchive: 25, byType: { "a.t": 20, "b.t": 5 }, note: "n" },
      system_maintenance: { submitsRefused: true, queuedTasks: 1, activeTasks: 2, liveAgents: 3, note: "n" },
    };
    for (const [action, impact] of Object.entries(impacts)) {
      await expectWhole(
        O.request,
        200,
        { dryRun: true, action, impact, confirmationToken: "ovc_x", confirmationExpiresAt: AT },
        { payload: { action, reason: "x" } },
      );
    }
    const restart = {
      ...view,
      action: "restart_all_agents",
      state: "done",
      impact: {
        agentsToRestart: 3,
        leasesToRelease: 1,
        note: "n",
        applied: { agents: 3, leasesReleased: 1 },
      },
    };
    await expectWhole(
      O.request,
      200,
      { dryRun: false, override: restart },
      { payload: { action: "restart_all_agents", reason: "x", confirmationToken: "ovc_x" } },
    );
    await expectWhole(O.list, 200, {
      overrides: [view, { ...view, state: "active", endedAt: null, endedBy: null }],
    });
    await expectWhole(
      O.undo,
      200,
      { override: view },
      { url: `/api/dashboard/system/overrides/${ID}/undo`, payload: { reason: "fine" } },
    );
  });

  it("an audit page", async () => {
    await expectWhole(AUDIT_ROUTES.list, 200, {
      entries: [
        {
          id: "42",
          at: AT,
          actor: "operator",
          action: "task.retry",
          targetKind: "task",
          targetId: ID,
          reason: null,
          requestId: ID2,
          impact: { from: "dead", priorityBefore: 0, priority: 0 },
          data: { type: "t", priorityBoost: 0 },
        },
        {
          id: "41",
          at: AT,
          actor: "auto-heal",
          action: "heal.retry_dead_task",
          targetKind: "task",
          targetId: ID,
          reason: "r",
          requestId: null,
          impact: null,
          data: [1, "two"],
        },
      ],
      total: 42,
      nextBefore: "41",
    });
  });
});
