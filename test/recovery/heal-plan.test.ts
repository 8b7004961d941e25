import { describe, expect, it } from "vitest";
import { applyHealLimits } from "../../recovery/heal/heal-limits.ts";
import { HEAL_RULES, type HealObservation, planHeal } from "../../recovery/heal/heal-plan.ts";

const empty = (): HealObservation => ({
  orphanedLeaseHolders: [],
  deadTasks: [],
  failedManaged: [],
  flapping: [],
  typeOutcomes: [],
  agents: [],
  quarantined: new Set(),
  openCircuits: new Set(),
});

const observed = (): HealObservation => ({
  ...empty(),
  orphanedLeaseHolders: ["a-dead"],
  deadTasks: [
    {
      taskId: "t1",
      type: "x",
      category: "lost_heartbeat",
      deadForMs: 60_000,
      healRetries: 0,
    },
    { taskId: "t2", type: "x", category: "validation", deadForMs: 60_000, healRetries: 0 },
    { taskId: "t3", type: "x", category: "timeout", deadForMs: 40_000, healRetries: 1 },
    { taskId: "t4", type: "x", category: "timeout", deadForMs: 1e9, healRetries: 2 },
  ],
  failedManaged: [{ name: "w", replica: 0, reason: "gave up" }],
  flapping: [
    { name: "flappy", deaths: 3, liveAgentIds: ["f1"] },
    { name: "calm", deaths: 2, liveAgentIds: ["c1"] },
  ],
  typeOutcomes: [
    { type: "bad", attempts: 10, failed: 5 },
    { type: "fine", attempts: 10, failed: 4 },
    { type: "rare", attempts: 3, failed: 3 },
  ],
  agents: [
    { agentId: "s1", name: "slow", state: "stale", attempts: 0, failed: 0 },
    { agentId: "b1", name: "broken", state: "active", attempts: 5, failed: 4 },
    { agentId: "g1", name: "good", state: "active", attempts: 5, failed: 1 },
    { agentId: "f1", name: "flappy", state: "stale", attempts: 0, failed: 0 },
  ],
});

describe("heal planner", () => {
  it("plans nothing for a healthy fleet, whatever the strategy", () => {
    for (const s of ["conservative", "smart", "aggressive"] as const)
      expect(planHeal(s, empty())).toEqual([]);
  });

  it("conservative: requeues orphaned leases and retries transient dead tasks with backoff", () => {
    const plan = planHeal("conservative", observed());
    expect(plan.map((a) => `${a.action}:${a.target}`)).toEqual([
      "requeue_orphaned_leases:a-dead",
      "retry_dead_task:t1",
    ]);
    // t3 waits base × 2 = 60 s after its first heal retry; at 40 s it is not yet due.
    expect(HEAL_RULES.retryBackoffBaseMs * 2).toBeGreaterThan(40_000);
    expect(plan.every((a) => a.reason.length > 0)).toBe(true);
  });

  it("smart adds managed restarts, quarantine of flapping agents and circuits of failing types", () => {
    const plan = planHeal("smart", observed()).map((a) => `${a.action}:${a.target}`);
    expect(plan).toEqual([
      "requeue_orphaned_leases:a-dead",
      "retry_dead_task:t1",
      "restart_managed_agent:w/0",
      "quarantine_agent:flappy",
      "open_circuit:bad",
    ]);
    // Keyed by name: a flapping name is quarantined even between registrations (none live now).
    const between = { ...observed(), flapping: [{ name: "flappy", deaths: 4, liveAgentIds: [] }] };
    expect(planHeal("smart", between).filter((a) => a.action === "quarantine_agent")).toMatchObject([
      { target: "flappy" },
    ]);
    const already = { ...observed(), quarantined: new Set(["flappy"]), openCircuits: new Set(["bad"]) };
    expect(planHeal("smart", already).map((a) => a.action)).not.toContain("quarantine_agent");
    expect(planHeal("smart", already).map((a) => a.action)).not.toContain("open_circuit");
  });

  it("aggressive adds drain-and-restart of stale or failing agents (not the quarantined ones)", () => {
    const restarts = planHeal("aggressive", observed()).filter((a) => a.action === "drain_restart_agent");
    expect(restarts.map((a) => [a.target, a.subject])).toEqual([
      ["s1", "slow"],
      ["b1", "broken"],
    ]);
  });
});

describe("heal limits", () => {
  const limits = { windowMs: 60_000, maxActionsPerKind: 2, maxRestartsPerTarget: 1 };

  it("holds back actions past the per-kind limit, counting what the window already holds", () => {
    const plan = ["a", "b", "c"].map((t) => ({ action: "retry_dead_task" as const, target: t, reason: "r" }));
    const none = applyHealLimits(plan, { byKind: new Map(), restartsByTarget: new Map() }, limits);
    expect(none.allowed.map((a) => a.target)).toEqual(["a", "b"]);
    expect(none.skipped[0]?.why).toMatch(/limit: 2 retry_dead_task/);
    const some = applyHealLimits(
      plan,
      { byKind: new Map([["retry_dead_task", 2]]), restartsByTarget: new Map() },
      limits,
    );
    expect(some.allowed).toEqual([]);
  });

  it("never restarts one subject more than allowed per window", () => {
    const plan = [
      { action: "drain_restart_agent" as const, target: "id1", subject: "w", reason: "r" },
      { action: "drain_restart_agent" as const, target: "id2", subject: "w", reason: "r" },
      { action: "drain_restart_agent" as const, target: "id3", subject: "v", reason: "r" },
    ];
    const r = applyHealLimits(plan, { byKind: new Map(), restartsByTarget: new Map([["v", 1]]) }, limits);
    expect(r.allowed.map((a) => a.target)).toEqual(["id1"]);
    expect(r.skipped.map((a) => a.target)).toEqual(["id2", "id3"]);
  });
});
