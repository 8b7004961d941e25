import type { HealHistory } from "./heal-limits.ts";
import type { HealActionKind, HealObservation } from "./heal-plan.ts";

/**
 * The reads auto-heal plans from, each bounded (daemon/store/heal-observations-store.ts satisfies
 * it): Postgres is the system of record, the audit log the history every replica shares.
 */
export interface HealObservationsPort {
  orphanedLeaseHolders(): Promise<HealObservation["orphanedLeaseHolders"]>;
  recentDeadTasks(): Promise<HealObservation["deadTasks"]>;
  deathsByName(windowMs: number): Promise<HealObservation["flapping"]>;
  attemptsByType(windowMs: number): Promise<HealObservation["typeOutcomes"]>;
  liveAgentAttempts(windowMs: number): Promise<HealObservation["agents"]>;
  /** Executed and failed heal actions in the window by audit action (`heal.<kind>`) and subject. */
  healActionCounts(windowMs: number): Promise<Array<{ action: string; subject: string; count: number }>>;
}

/** What the planner needs, observed now. */
export class HealObserver {
  constructor(private readonly reads: HealObservationsPort) {}

  async observe(
    windowMs: number,
  ): Promise<Omit<HealObservation, "failedManaged" | "quarantined" | "openCircuits">> {
    const [orphanedLeaseHolders, deadTasks, flapping, typeOutcomes, agents] = await Promise.all([
      this.reads.orphanedLeaseHolders(),
      this.reads.recentDeadTasks(),
      this.reads.deathsByName(windowMs),
      this.reads.attemptsByType(windowMs),
      this.reads.liveAgentAttempts(windowMs),
    ]);
    return { orphanedLeaseHolders, deadTasks, flapping, typeOutcomes, agents };
  }

  /** Heal actions carried out in the window (failed ones too: an attempt is an attempt). */
  async history(windowMs: number): Promise<HealHistory> {
    const byKind = new Map<HealActionKind, number>();
    const restartsByTarget = new Map<string, number>();
    for (const row of await this.reads.healActionCounts(windowMs)) {
      const kind = row.action.slice("heal.".length) as HealActionKind;
      byKind.set(kind, (byKind.get(kind) ?? 0) + row.count);
      if (kind === "restart_managed_agent" || kind === "drain_restart_agent") {
        restartsByTarget.set(row.subject, (restartsByTarget.get(row.subject) ?? 0) + row.count);
      }
    }
    return { byKind, restartsByTarget };
  }
}
