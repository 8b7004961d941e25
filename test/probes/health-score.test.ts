import { describe, expect, it } from "vitest";
import { decideCanary } from "../../probes/canary-decision.ts";
import { type ComponentHealth, HEALTH_WEIGHTS, scoreHealth } from "../../probes/health-score.ts";

const c = (status: ComponentHealth["status"]): ComponentHealth => ({ status, latencyMs: 1, detail: {} });
const all = (status: ComponentHealth["status"]) =>
  Object.fromEntries(Object.keys(HEALTH_WEIGHTS).map((n) => [n, c(status)]));

describe("scoreHealth", () => {
  it("weights sum to 100", () => {
    expect(Object.values(HEALTH_WEIGHTS).reduce((a, b) => a + b, 0)).toBe(100);
  });
  it("all ok is 100 and ok; a critical component down is down", () => {
    expect(scoreHealth(all("ok"))).toEqual({ status: "ok", score: 100 });
    expect(scoreHealth({ ...all("ok"), redis: c("down") })).toEqual({ status: "down", score: 75 });
  });
  it("degraded counts half; unknown components are left out and the rest rescaled", () => {
    expect(scoreHealth({ ...all("ok"), canary: c("degraded") })).toEqual({ status: "degraded", score: 95 });
    expect(scoreHealth({ ...all("ok"), canary: c("unknown") })).toEqual({ status: "ok", score: 100 });
    expect(scoreHealth({ ...all("ok"), canary: c("unknown"), agents: c("down") })).toEqual({
      status: "degraded",
      score: 89,
    });
  });
  it("an active override makes the status degraded without lowering the score", () => {
    expect(scoreHealth({ ...all("ok"), overrides: c("degraded") })).toEqual({
      status: "degraded",
      score: 100,
    });
  });
});

describe("decideCanary", () => {
  const base = { intervalMs: 1_000, timeoutMs: 500 };
  it("launches at once, then once per interval", () => {
    expect(decideCanary({ ...base, inFlight: null, msSinceLastLaunch: null }).kind).toBe("launch");
    expect(decideCanary({ ...base, inFlight: null, msSinceLastLaunch: 999 }).kind).toBe("wait");
    expect(decideCanary({ ...base, inFlight: null, msSinceLastLaunch: 1_000 }).kind).toBe("launch");
  });
  it("settles a completed canary as success with its Postgres duration", () => {
    const step = decideCanary({
      ...base,
      inFlight: { taskId: "t", state: "completed", ageMs: 900, durationMs: 42 },
      msSinceLastLaunch: 900,
    });
    expect(step).toMatchObject({ kind: "resolve", outcome: "success", durationMs: 42, cancel: false });
  });
  it("waits within the timeout, then cancels and counts a timeout", () => {
    const queued = { taskId: "t", state: "queued", durationMs: null };
    expect(decideCanary({ ...base, inFlight: { ...queued, ageMs: 499 }, msSinceLastLaunch: 499 }).kind).toBe(
      "wait",
    );
    expect(
      decideCanary({ ...base, inFlight: { ...queued, ageMs: 500 }, msSinceLastLaunch: 500 }),
    ).toMatchObject({
      kind: "resolve",
      outcome: "timeout",
      cancel: true,
    });
  });
  it("a failed, dead or vanished canary is a failure", () => {
    for (const state of ["failed", "dead", "cancelled", null]) {
      expect(
        decideCanary({
          ...base,
          inFlight: { taskId: "t", state, ageMs: 10, durationMs: 5 },
          msSinceLastLaunch: 10,
        }),
      ).toMatchObject({ kind: "resolve", outcome: "failed", cancel: false });
    }
  });
});
