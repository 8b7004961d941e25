import { describe, expect, it } from "vitest";
import { type HealthInputs, healthScore } from "../../daemon/agents/health-score.ts";

const perfect: HealthInputs = {
  state: "active",
  heartbeatAgeMs: 100,
  meanHeartbeatGapMs: 1_000,
  heartbeatIntervalMs: 1_000,
  staleAfterMs: 2_000,
  completed: 20,
  failed: 0,
};

describe("healthScore", () => {
  it("is 100 for a perfect agent, and for a new one with no evidence yet", () => {
    expect(healthScore(perfect)).toBe(100);
    expect(healthScore({ ...perfect, meanHeartbeatGapMs: null, completed: 0, failed: 0 })).toBe(100);
  });

  it("is 0 for dead and left agents, however good their record", () => {
    expect(healthScore({ ...perfect, state: "dead" })).toBe(0);
    expect(healthScore({ ...perfect, state: "left" })).toBe(0);
  });

  it("failures lower it (success weighs 40 %)", () => {
    expect(healthScore({ ...perfect, completed: 5, failed: 5 })).toBe(80);
    expect(healthScore({ ...perfect, completed: 0, failed: 5 })).toBe(60);
    const scores = [0, 1, 2, 5, 10].map((failed) => healthScore({ ...perfect, completed: 10, failed }));
    for (let i = 1; i < scores.length; i++) expect(scores[i]!).toBeLessThan(scores[i - 1]!);
  });

  it("an old last heartbeat lowers it: full marks up to 1.5 intervals, none from the stale threshold", () => {
    expect(healthScore({ ...perfect, heartbeatAgeMs: 1_500 })).toBe(100);
    expect(healthScore({ ...perfect, heartbeatAgeMs: 1_750 })).toBe(80);
    expect(healthScore({ ...perfect, heartbeatAgeMs: 2_000 })).toBe(60);
    expect(healthScore({ ...perfect, heartbeatAgeMs: 60_000 })).toBe(60);
  });

  it("late heartbeats (a long mean gap) lower it (latency weighs 20 %)", () => {
    expect(healthScore({ ...perfect, meanHeartbeatGapMs: 800 })).toBe(100);
    expect(healthScore({ ...perfect, meanHeartbeatGapMs: 1_500 })).toBe(90);
    expect(healthScore({ ...perfect, meanHeartbeatGapMs: 2_000 })).toBe(80);
    expect(healthScore({ ...perfect, meanHeartbeatGapMs: 10_000 })).toBe(80);
  });

  it("is an integer from 0 to 100 whatever the inputs", () => {
    for (const age of [0, 1_000, 2_000, 5_000])
      for (const gap of [null, 500, 1_500, 9_000])
        for (const [completed, failed] of [
          [0, 0],
          [3, 1],
          [0, 9],
        ] as const) {
          const score = healthScore({
            ...perfect,
            state: "stale",
            heartbeatAgeMs: age,
            meanHeartbeatGapMs: gap,
            completed,
            failed,
          });
          expect(Number.isInteger(score)).toBe(true);
          expect(score).toBeGreaterThanOrEqual(0);
          expect(score).toBeLessThanOrEqual(100);
        }
  });
});
