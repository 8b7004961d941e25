/**
 * Task states. `queued` covers both "ready now" and "waiting out a retry delay" (see nextAttemptAt);
 * `failed` is terminal because the agent said retrying cannot help (retryable: false); `dead` is the
 * dead-letter state after the last allowed attempt. An operator may retry either. `cancelled` is
 * terminal: the pipeline that owned the task was cancelled or skipped the step.
 */
export const TASK_STATES = ["queued", "active", "completed", "failed", "dead", "cancelled"] as const;
export type TaskState = (typeof TASK_STATES)[number];

export const TERMINAL_TASK_STATES: readonly TaskState[] = ["completed", "failed", "dead", "cancelled"];

/** How an attempt ended. `released` and `revoked` for leaving agents do not count against maxAttempts. */
export type AttemptOutcome = "completed" | "failed" | "timed_out" | "lost" | "released" | "cancelled";

/** Outcomes that count against a task's maxAttempts. */
export const COUNTED_OUTCOMES: readonly AttemptOutcome[] = ["failed", "timed_out", "lost"];

export type FailureDecision =
  | { kind: "retry"; delayMs: number }
  | { kind: "requeue" }
  | { kind: "dead"; reason: string }
  | { kind: "failed"; reason: string };

/**
 * Decides what happens to a task whose attempt ended without completing.
 * `failuresSoFar` includes this attempt when its outcome counts.
 */
export function decideAfterAttempt(input: {
  outcome: Exclude<AttemptOutcome, "completed">;
  retryable: boolean;
  failuresSoFar: number;
  maxAttempts: number;
  errorMessage: string;
  delayMs: (failuresSoFar: number) => number;
}): FailureDecision {
  if (input.outcome === "released") return { kind: "requeue" };
  if (input.outcome === "failed" && !input.retryable) {
    return { kind: "failed", reason: `non-retryable error: ${input.errorMessage}` };
  }
  if (input.failuresSoFar >= input.maxAttempts) {
    return {
      kind: "dead",
      reason: `${input.outcome} on attempt ${input.failuresSoFar} of ${input.maxAttempts}: ${input.errorMessage}`,
    };
  }
  // A lost lease (agent died or left) is not the task's fault: hand it to another agent at once.
  if (input.outcome === "lost") return { kind: "requeue" };
  return { kind: "retry", delayMs: input.delayMs(input.failuresSoFar) };
}
