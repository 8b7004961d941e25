import { describe, expect, it } from "vitest";
import { diagnose, overall } from "../../daemon/coordination/diagnostics-findings.ts";
import {
  classifyFailure,
  FAILURE_CLASSES,
  RECOMMENDATIONS,
} from "../../daemon/coordination/failure-classifier.ts";
import { checkNamed, pickLeastLoaded } from "../../daemon/coordination/pick-agent.ts";
import { resetImpact } from "../../daemon/coordination/reset-plan.ts";
import { successRate, trendOf, ZERO } from "../../daemon/coordination/success-rate.ts";

describe("failure classifier", () => {
  const cases: Array<[Parameters<typeof classifyFailure>[0], string]> = [
    [{ outcome: "lost", category: "lost_heartbeat", message: "agent is dead" }, "lost_agent"],
    [{ outcome: "lost", category: "rate_limit", message: "429" }, "lost_agent"],
    [{ outcome: "timed_out", category: "timeout", message: "timed out after 300 ms" }, "timeout"],
    [{ outcome: "failed", category: "rate_limit", message: "slow down" }, "llm_provider"],
    [{ outcome: "failed", category: "upstream", message: "HTTP 429 Too Many Requests" }, "llm_provider"],
    [
      { outcome: "failed", category: "unknown", message: "OpenAI API error: model overloaded" },
      "llm_provider",
    ],
    [
      { outcome: "failed", category: "upstream", message: "connect ECONNREFUSED 127.0.0.1:6379" },
      "redis_connection",
    ],
    [{ outcome: "failed", category: "unknown", message: "Redis connection lost" }, "redis_connection"],
    [
      { outcome: "failed", category: "unknown", message: "Unexpected token < in JSON at position 0" },
      "serialization",
    ],
    [{ outcome: "failed", category: "serialization", message: "x" }, "serialization"],
    [{ outcome: "failed", category: "validation", message: "bad" }, "validation"],
    [{ outcome: "failed", category: "unknown", message: "field 'topic' is required" }, "validation"],
    [{ outcome: "failed", category: "budget_exceeded", message: "stop" }, "budget"],
    [{ outcome: "failed", category: "unknown", message: "mission over budget: 12.5 USD of 10" }, "budget"],
    [{ outcome: "failed", category: "unknown", message: "deadline exceeded while waiting" }, "timeout"],
    [{ outcome: "failed", code: "ETIMEDOUT", message: "read failed" }, "redis_connection"],
    [{ outcome: "failed", category: "unknown", message: "something odd happened" }, "unknown"],
    [{ outcome: "failed" }, "unknown"],
  ];
  it.each(cases)("%j → %s", (facts, expected) => {
    expect(classifyFailure(facts)).toBe(expected);
  });

  it("has a recommendation naming an Overseer lever for every class", () => {
    for (const cls of FAILURE_CLASSES) {
      expect(RECOMMENDATIONS[cls]).toMatch(/\/api\/|OVERSEER_|docs\//);
    }
  });
});

describe("success rate and trend", () => {
  it("has no rate and no trend on an empty system", () => {
    expect(successRate(ZERO)).toBeNull();
    expect(trendOf(ZERO, ZERO)).toBeNull();
  });
  it("counts failed, timed out and lost as failures", () => {
    expect(successRate({ completed: 8, failed: 1, timedOut: 0, lost: 1 })).toBe(0.8);
  });
  it("calls a move of 5 points or more a trend, and needs 5 attempts in each window", () => {
    const c = (completed: number, failed: number) => ({ completed, failed, timedOut: 0, lost: 0 });
    expect(trendOf(c(9, 1), c(8, 2))).toBe("improving");
    expect(trendOf(c(8, 2), c(9, 1))).toBe("declining");
    expect(trendOf(c(90, 10), c(88, 12))).toBe("stable");
    expect(trendOf(c(3, 1), c(1, 3))).toBeNull();
  });
});

describe("reassign target choice", () => {
  const agent = (id: string, over: Partial<Parameters<typeof pickLeastLoaded>[0][number]> = {}) => ({
    id,
    state: "active",
    mirrorState: "active",
    quarantined: false,
    capabilities: ["work"],
    concurrency: 2,
    leases: 0,
    ...over,
  });
  it("picks the least loaded active capable agent other than the holder", () => {
    const pick = pickLeastLoaded(
      [
        agent("a", { leases: 0 }),
        agent("b", { leases: 1, concurrency: 4 }),
        agent("c", { leases: 0, capabilities: ["other"] }),
        agent("d", { leases: 0, state: "stale" }),
        agent("e", { leases: 0, mirrorState: "draining" }),
      ],
      "work",
      "a",
    );
    expect(pick).toEqual({ ok: true, agentId: "b" });
  });
  it("skips quarantined agents, and refuses a named quarantined one", () => {
    const pick = pickLeastLoaded(
      [agent("a", { leases: 0, quarantined: true }), agent("b", { leases: 1 })],
      "work",
      null,
    );
    expect(pick).toEqual({ ok: true, agentId: "b" });
    expect(pickLeastLoaded([agent("a", { quarantined: true })], "work", null)).toMatchObject({
      ok: false,
      code: "unsuitable",
    });
    expect(checkNamed(agent("a", { quarantined: true }), "work", null)).toMatchObject({
      ok: false,
      code: "unsuitable",
      why: expect.stringContaining("quarantined"),
    });
  });
  it("refuses when nobody can take it", () => {
    expect(pickLeastLoaded([agent("a")], "work", "a")).toMatchObject({ ok: false, code: "unsuitable" });
  });
  it("checks a named agent", () => {
    expect(checkNamed(undefined, "work", null)).toMatchObject({ ok: false, code: "not_found" });
    expect(checkNamed(agent("a", { state: "dead" }), "work", null)).toMatchObject({ code: "not_found" });
    expect(checkNamed(agent("a", { capabilities: [] }), "work", null)).toMatchObject({ code: "unsuitable" });
    expect(checkNamed(agent("a", { state: "draining" }), "work", null)).toMatchObject({ code: "unsuitable" });
    expect(checkNamed(agent("a"), "work", "a")).toMatchObject({ code: "unsuitable" });
    expect(checkNamed(agent("a"), "work", "b")).toEqual({ ok: true, agentId: "a" });
  });
});

describe("reset impact", () => {
  const s = { orphanedLeases: 2, queuedTasks: 7, leasesOfInactiveAgents: 3, liveAgents: 4, activeAgents: 3 };
  it("grows level by level", () => {
    expect(resetImpact("soft", s)).toMatchObject({
      leasesToRelease: 0,
      agentMirrorsToRebuild: 0,
      agentsToDrain: 0,
    });
    expect(resetImpact("hard", s)).toMatchObject({
      leasesToRelease: 3,
      agentMirrorsToRebuild: 4,
      agentsToDrain: 0,
    });
    expect(resetImpact("full", s)).toMatchObject({ leasesToRelease: 3, agentsToDrain: 3 });
    expect(resetImpact("full", s).steps).toContain("drain_live_agents");
  });
});

describe("diagnostics findings", () => {
  const base = {
    nowMs: 100_000,
    queues: [],
    activeLeases: 0,
    expiredLeases: { count: 0, oldestOverdueMs: 0 },
    mirrors: [],
    agents: [],
    stores: { postgres: { ok: true, latencyMs: 1 }, redis: { ok: true, latencyMs: 1 } },
    loops: [],
    sweepIntervalMs: 250,
  };
  it("is ok when everything agrees", () => {
    expect(overall(diagnose(base))).toBe("ok");
  });
  it("reports what disagrees, by component", () => {
    const findings = diagnose({
      ...base,
      stores: {
        postgres: { ok: true, latencyMs: 1 },
        redis: { ok: false, latencyMs: null, error: "ECONNREFUSED" },
      },
      queues: [{ type: "work", pgReady: 3, pgDelayed: 0, bull: { waiting: 1, delayed: 0, active: 0 } }],
      expiredLeases: { count: 1, oldestOverdueMs: 5_000 },
      mirrors: [{ agentId: "a", postgresLeases: 2, missingInRedis: 1, extraInRedis: 0 }],
      agents: [{ id: "d", state: "dead", mirrorState: "dead", leases: 1, heartbeatAgeMs: null }],
      loops: [
        {
          name: "reconcile",
          intervalMs: 1_000,
          runs: 3,
          errors: 1,
          lastRunAt: 99_000,
          lastSuccessAt: 90_000,
          lastError: "boom",
          lastErrorAt: 99_500,
        },
      ],
    });
    const by = (c: string) => findings.filter((f) => f.component === c).map((f) => f.severity);
    expect(by("stores")).toEqual(["critical"]);
    expect(by("queues")).toEqual(["warning"]);
    expect(by("leases")).toEqual(["warning", "warning"]);
    expect(by("agents")).toEqual(["critical"]);
    expect(by("loops")).toEqual(["warning"]);
    expect(overall(findings)).toBe("critical");
  });
});
