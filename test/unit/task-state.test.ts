import { describe, expect, it } from "vitest";
import {
  COUNTED_OUTCOMES,
  decideAfterAttempt,
  TASK_STATES,
  TERMINAL_TASK_STATES,
} from "../../daemon/tasks/task-state.ts";

const delays: number[] = [];
const base = {
  retryable: true,
  maxAttempts: 3,
  errorMessage: "boom",
  delayMs: (failuresSoFar: number) => {
    delays.push(failuresSoFar);
    return failuresSoFar * 100;
  },
};

describe("decideAfterAttempt", () => {
  it("released → requeue, whatever the count", () => {
    for (const failuresSoFar of [0, 2, 3, 10]) {
      expect(decideAfterAttempt({ ...base, outcome: "released", failuresSoFar })).toEqual({
        kind: "requeue",
      });
    }
    expect(decideAfterAttempt({ ...base, outcome: "released", retryable: false, failuresSoFar: 0 })).toEqual({
      kind: "requeue",
    });
  });

  it("lost → requeue at once until the last attempt, then dead", () => {
    expect(decideAfterAttempt({ ...base, outcome: "lost", failuresSoFar: 1 })).toEqual({ kind: "requeue" });
    expect(decideAfterAttempt({ ...base, outcome: "lost", failuresSoFar: 2 })).toEqual({ kind: "requeue" });
    const last = decideAfterAttempt({
      ...base,
      outcome: "lost",
      failuresSoFar: 3,
      errorMessage: "agent died",
    });
    expect(last).toEqual({ kind: "dead", reason: "lost on attempt 3 of 3: agent died" });
  });

  it("failed and retryable → retry with the backoff delay for this failure count", () => {
    delays.length = 0;
    expect(decideAfterAttempt({ ...base, outcome: "failed", failuresSoFar: 1 })).toEqual({
      kind: "retry",
      delayMs: 100,
    });
    expect(decideAfterAttempt({ ...base, outcome: "failed", failuresSoFar: 2 })).toEqual({
      kind: "retry",
      delayMs: 200,
    });
    expect(delays).toEqual([1, 2]);
  });

  it("failed and retryable on the last attempt → dead with the reason", () => {
    const d = decideAfterAttempt({ ...base, outcome: "failed", failuresSoFar: 3 });
    expect(d).toEqual({ kind: "dead", reason: "failed on attempt 3 of 3: boom" });
    expect(decideAfterAttempt({ ...base, outcome: "failed", failuresSoFar: 4 }).kind).toBe("dead");
  });

  it("failed and not retryable → failed at once, even on the first attempt", () => {
    for (const failuresSoFar of [1, 3]) {
      expect(
        decideAfterAttempt({
          ...base,
          outcome: "failed",
          retryable: false,
          failuresSoFar,
          errorMessage: "bad input",
        }),
      ).toEqual({ kind: "failed", reason: "non-retryable error: bad input" });
    }
  });

  it("timed_out counts: retry with delay, then dead on the last attempt", () => {
    expect(decideAfterAttempt({ ...base, outcome: "timed_out", failuresSoFar: 2 })).toEqual({
      kind: "retry",
      delayMs: 200,
    });
    expect(
      decideAfterAttempt({ ...base, outcome: "timed_out", failuresSoFar: 3, errorMessage: "slow" }),
    ).toEqual({
      kind: "dead",
      reason: "timed_out on attempt 3 of 3: slow",
    });
    // "retryable" is the agent's word about its own failure; it does not apply to a timeout.
    expect(
      decideAfterAttempt({ ...base, outcome: "timed_out", retryable: false, failuresSoFar: 1 }).kind,
    ).toBe("retry");
  });

  it("maxAttempts 1: the first counted outcome is the last", () => {
    for (const outcome of ["failed", "timed_out", "lost"] as const) {
      expect(decideAfterAttempt({ ...base, maxAttempts: 1, outcome, failuresSoFar: 1 }).kind).toBe("dead");
    }
  });

  it("counted outcomes are failed, timed_out and lost; released is not", () => {
    expect([...COUNTED_OUTCOMES].sort()).toEqual(["failed", "lost", "timed_out"]);
  });

  it("terminal states are completed, failed, dead and cancelled", () => {
    expect([...TERMINAL_TASK_STATES].sort()).toEqual(["cancelled", "completed", "dead", "failed"]);
    for (const s of TERMINAL_TASK_STATES) expect(TASK_STATES).toContain(s);
  });
});
