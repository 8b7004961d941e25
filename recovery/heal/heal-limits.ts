import type { HealAction, HealActionKind } from "./heal-plan.ts";

/** Intensity limits of auto-heal, so healing never becomes a restart storm. */
export interface HealLimits {
  /** The sliding window the limits count over. */
  windowMs: number;
  /** At most this many executed actions of one kind per window. */
  maxActionsPerKind: number;
  /** At most this many restarts of one agent (id or managed name/replica) per window. */
  maxRestartsPerTarget: number;
}

/** What already happened in the window (read from the audit log, which every replica shares). */
export interface HealHistory {
  byKind: ReadonlyMap<HealActionKind, number>;
  /** Restarts per subject (agent name, or managed name/replica) in the window. */
  restartsByTarget: ReadonlyMap<string, number>;
}

const RESTARTS: ReadonlySet<HealActionKind> = new Set(["restart_managed_agent", "drain_restart_agent"]);

/** Splits a plan into what may run now and what the limits hold back (with why). Pure. */
export function applyHealLimits(
  plan: readonly HealAction[],
  history: HealHistory,
  limits: HealLimits,
): { allowed: HealAction[]; skipped: Array<HealAction & { why: string }> } {
  const kinds = new Map(history.byKind);
  const targets = new Map(history.restartsByTarget);
  const allowed: HealAction[] = [];
  const skipped: Array<HealAction & { why: string }> = [];
  for (const a of plan) {
    const done = kinds.get(a.action) ?? 0;
    if (done >= limits.maxActionsPerKind) {
      skipped.push({
        ...a,
        why: `limit: ${done} ${a.action} actions in the last ${limits.windowMs} ms (max ${limits.maxActionsPerKind})`,
      });
      continue;
    }
    if (RESTARTS.has(a.action)) {
      const key = a.subject ?? a.target;
      const restarts = targets.get(key) ?? 0;
      if (restarts >= limits.maxRestartsPerTarget) {
        skipped.push({
          ...a,
          why: `limit: ${key} restarted ${restarts} times in the last ${limits.windowMs} ms (max ${limits.maxRestartsPerTarget})`,
        });
        continue;
      }
      targets.set(key, restarts + 1);
    }
    kinds.set(a.action, done + 1);
    allowed.push(a);
  }
  return { allowed, skipped };
}
