/**
 * Pure description of the three coordination reset levels (docs/coordination.md). Each level does
 * everything the one before it does.
 */

import type { ResetImpact, ResetLevel } from "../../contract/schemas/coordination.ts";

export { RESET_LEVELS, type ResetLevel } from "../../contract/schemas/coordination.ts";

/** What the reset would touch now, read before the dry run answers and again before it executes. */
export interface ResetSnapshot {
  /** Active leases held by agents that are dead, left or unknown. */
  orphanedLeases: number;
  /** Queued tasks (Postgres) the reconciler will check for a missing dispatch entry. */
  queuedTasks: number;
  /** Active leases held by agents that are stale or draining (live, but not active). */
  leasesOfInactiveAgents: number;
  /** Live agents (active, stale, draining) whose Redis mirrors a hard reset rebuilds. */
  liveAgents: number;
  /** Active agents a full reset asks to drain. */
  activeAgents: number;
}

export const RESET_STEPS: Record<ResetLevel, string[]> = {
  soft: ["reconcile_now", "requeue_orphaned_leases"],
  hard: [
    "reconcile_now",
    "requeue_orphaned_leases",
    "release_leases_of_inactive_agents",
    "rebuild_lease_and_heartbeat_mirrors",
  ],
  full: [
    "reconcile_now",
    "requeue_orphaned_leases",
    "release_leases_of_inactive_agents",
    "rebuild_lease_and_heartbeat_mirrors",
    "drain_live_agents",
  ],
};

/** The predicted impact of a reset at `level`. */
export function resetImpact(level: ResetLevel, s: ResetSnapshot): ResetImpact {
  const hard = level !== "soft";
  return {
    level,
    steps: RESET_STEPS[level],
    orphanedLeasesToRequeue: s.orphanedLeases,
    queuedTasksToCheck: s.queuedTasks,
    leasesToRelease: hard ? s.leasesOfInactiveAgents : 0,
    agentMirrorsToRebuild: hard ? s.liveAgents : 0,
    agentsToDrain: level === "full" ? s.activeAgents : 0,
  };
}
