// Task states and attempt outcomes are part of the contract (contract/schemas/tasks.ts); the
// decisions over them live here.
import type { AttemptOutcome, TaskState } from "../../contract/schemas/tasks.ts";

export {
  ATTEMPT_OUTCOMES,
  type AttemptOutcome,
  TASK_STATES,
  type TaskState,
} from "../../contract/schemas/tasks.ts";

export const TERMINAL_TASK_STATES: readonly TaskState[] = ["completed", "failed", "dead", "cancelled"];

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
