import type { ProbeOutcome } from "../daemon/events/catalogue.ts";

/** The task type whose handler every SDK agent of `role` registers unless told not to (the contract's). */
export { canaryTaskType } from "../contract/schemas/system.ts";

/** The canary of one role as Postgres last saw it (the leader's memory holds only the task id). */
export interface CanaryInFlight {
  taskId: string;
  /** `queued`, `active`, or a final state (`completed`, `failed`, `dead`, `cancelled`); null when the row is gone. */
  state: string | null;
  /** Milliseconds since the task was submitted, on the Postgres clock. */
  ageMs: number;
  /** Submission to finish, on the Postgres clock, once the task has ended. */
  durationMs: number | null;
}

export type CanaryStep =
  | { kind: "wait" }
  | { kind: "launch" }
  | { kind: "resolve"; outcome: ProbeOutcome; durationMs: number; detail: string; cancel: boolean };

/**
 * What the canary of one role does on this tick: wait for the one in flight, settle it (success,
 * failed, or timeout, which also cancels the task so canaries never pile up), or launch the next
 * when the interval since the last launch has passed.
 */
export function decideCanary(input: {
  inFlight: CanaryInFlight | null;
  msSinceLastLaunch: number | null;
  intervalMs: number;
  timeoutMs: number;
}): CanaryStep {
  const { inFlight, msSinceLastLaunch, intervalMs, timeoutMs } = input;
  if (inFlight) {
    const { state, ageMs, durationMs } = inFlight;
    if (state === "completed") {
      return {
        kind: "resolve",
        outcome: "success",
        durationMs: durationMs ?? ageMs,
        detail: "answered",
        cancel: false,
      };
    }
    if (state === null) {
      return {
        kind: "resolve",
        outcome: "failed",
        durationMs: ageMs,
        detail: "the canary task vanished",
        cancel: false,
      };
    }
    if (state !== "queued" && state !== "active") {
      return {
        kind: "resolve",
        outcome: "failed",
        durationMs: durationMs ?? ageMs,
        detail: `the canary task ended ${state}`,
        cancel: false,
      };
    }
    if (ageMs >= timeoutMs) {
      return {
        kind: "resolve",
        outcome: "timeout",
        durationMs: ageMs,
        detail:
          state === "queued"
            ? `no agent claimed it within ${timeoutMs} ms`
            : `claimed but not answered within ${timeoutMs} ms`,
        cancel: true,
      };
    }
    return { kind: "wait" };
  }
  if (msSinceLastLaunch === null || msSinceLastLaunch >= intervalMs) return { kind: "launch" };
  return { kind: "wait" };
}
