/**
 * Pure rules of emergency overrides (docs/overrides.md): which actions exist, which stay in force
 * until undone or expired, and what an undo or an expiry may do. No I/O.
 */
import type { OverrideAction, OverrideState } from "../../contract/schemas/overrides.ts";

// The actions and states are part of the contract (contract/schemas/overrides.ts).
export {
  OVERRIDE_ACTIONS,
  OVERRIDE_STATES,
  type OverrideAction,
  type OverrideState,
} from "../../contract/schemas/overrides.ts";

/** Actions whose effect lasts while the override is active (and which an undo or expiry reverts). */
export function isLasting(action: OverrideAction): boolean {
  return action !== "restart_all_agents";
}

/** What each action reaches (every one is namespace-wide), for the log line of each step. */
export const OVERRIDE_SCOPE: Record<OverrideAction, string> = {
  stop_all_tasks: "every claim in the namespace",
  restart_all_agents: "every live agent in the namespace",
  clear_task_queue: "every queued task in the namespace",
  system_maintenance: "every task submit and pipeline execute in the namespace",
};

/** Longest expiry an override may carry: a week (longer is a change of policy, not an emergency). */
export const MAX_OVERRIDE_EXPIRY_MS = 7 * 86_400_000;

/** The expiry time of an override started at `now`, or null; a reason when `expiresInMs` is unusable. */
export function expiryOf(
  action: OverrideAction,
  expiresInMs: number | undefined,
  now: Date,
): { expiresAt: Date | null } | { problem: string } {
  if (expiresInMs === undefined) return { expiresAt: null };
  if (!isLasting(action)) return { problem: `${action} is a one-shot action: it cannot carry expiresInMs` };
  if (!Number.isInteger(expiresInMs) || expiresInMs < 1_000 || expiresInMs > MAX_OVERRIDE_EXPIRY_MS) {
    return { problem: `expiresInMs must be an integer from 1000 to ${MAX_OVERRIDE_EXPIRY_MS}` };
  }
  return { expiresAt: new Date(now.getTime() + expiresInMs) };
}

/** Why an override cannot be undone now, or null when it can. */
export function undoRefusal(o: { action: OverrideAction; state: OverrideState }): string | null {
  if (o.state === "done") {
    return `${o.action} is a one-shot action that already completed; there is nothing to undo`;
  }
  if (o.state !== "active") return `the override is already ${o.state}`;
  return null;
}

/** Whether an active override of `action` is already in force, so a second one would be redundant. */
export function conflictsWithActive(action: OverrideAction, active: Array<{ action: string }>): boolean {
  return isLasting(action) && action !== "clear_task_queue" && active.some((o) => o.action === action);
}

/** What the active overrides mean for this replica's hot paths. */
export interface OverrideFlags {
  dispatchPaused: boolean;
  maintenance: boolean;
}

export function flagsOf(active: Array<{ action: string }>): OverrideFlags {
  return {
    dispatchPaused: active.some((o) => o.action === "stop_all_tasks"),
    maintenance: active.some((o) => o.action === "system_maintenance"),
  };
}
