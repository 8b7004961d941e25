/**
 * The pure restart decision of a managed agent, like an OTP supervisor's: given the policy, the
 * times of the restarts already made and how the process ended, restart after a delay, give up
 * (too many restarts in the intensity window), or leave it down. No clock is read here.
 */
import type { ExitInfo } from "../../contract/schemas/recovery.ts";

export type RestartKind = "permanent" | "transient" | "temporary";

export interface RestartPolicy {
  /** permanent: always restarted; transient: only after an abnormal exit; temporary: never. */
  restart: RestartKind;
  /** First restart delay. */
  backoffInitialMs: number;
  /** Cap on the delay. */
  backoffMaxMs: number;
  /** Delay multiplier per consecutive restart (1 = constant). */
  backoffFactor: number;
  /** At most this many restarts within `periodMs`, then give up. */
  maxRestarts: number;
  periodMs: number;
}

/** How a child ended. `requested` = the exit followed an operator restart or a restart command (75). */
export type { ExitInfo };

export type RestartDecision =
  | { kind: "restart"; delayMs: number; reason: RestartReason }
  | { kind: "give_up"; reason: string }
  | { kind: "leave_down"; reason: string };

export type RestartReason = "crashed" | "exited" | "requested";

/** Exit code 75 (EX_TEMPFAIL) is how run-agent asks to be started again after a restart command. */
export const RESTART_REQUEST_EXIT_CODE = 75;

export function isAbnormal(exit: ExitInfo): boolean {
  return exit.signal !== null || (exit.code !== 0 && exit.code !== RESTART_REQUEST_EXIT_CODE);
}

/** Restart times still inside the intensity window ending at `now`. */
export function recentRestarts(
  restartTimes: readonly number[],
  policy: RestartPolicy,
  now: number,
): number[] {
  return restartTimes.filter((t) => now - t < policy.periodMs);
}

/** The delay before restart number n (0-based) of a streak of consecutive crashes. */
export function backoffDelayMs(policy: RestartPolicy, n: number): number {
  const raw = policy.backoffInitialMs * policy.backoffFactor ** Math.max(0, n);
  return Math.min(policy.backoffMaxMs, Math.round(raw));
}

/**
 * Decides what follows an exit. `restartTimes` are the starts made by restarts (not the first
 * start); `streak` is how many crash restarts in a row happened without a healthy run between.
 */
export function decideRestart(
  policy: RestartPolicy,
  exit: ExitInfo,
  restartTimes: readonly number[],
  streak: number,
  now: number,
): RestartDecision {
  // An operator's restart is carried out whatever the policy, and counts toward the intensity.
  if (!exit.requested) {
    if (policy.restart === "temporary") return { kind: "leave_down", reason: "temporary: never restarted" };
    if (policy.restart === "transient" && !isAbnormal(exit)) {
      return { kind: "leave_down", reason: "transient: exited normally" };
    }
  }
  const recent = recentRestarts(restartTimes, policy, now);
  if (recent.length >= policy.maxRestarts) {
    return {
      kind: "give_up",
      reason: `${recent.length} restarts within ${policy.periodMs} ms (limit ${policy.maxRestarts})`,
    };
  }
  if (exit.requested) return { kind: "restart", delayMs: 0, reason: "requested" };
  return {
    kind: "restart",
    delayMs: backoffDelayMs(policy, streak),
    reason: isAbnormal(exit) ? "crashed" : "exited",
  };
}
