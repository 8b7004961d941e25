import { flagsOf, OVERRIDE_ACTIONS, type OverrideFlags } from "./override-rules.ts";

/**
 * This replica's view of the overrides in force, for hot paths (every claim, every submit). Reads
 * are synchronous on a cached value; the cache is refreshed from Postgres at most once per
 * `maxAgeMs`, in the background, so a check costs a property read. An override executed here takes
 * effect at once; one executed on another replica within about `maxAgeMs`.
 */
export class OverrideGate {
  private flags: OverrideFlags = { dispatchPaused: false, maintenance: false };
  private readAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | null = null;
  private maintenanceUntil: number | null = null;

  constructor(
    private readonly read: () => Promise<Array<{ action: string; expiresAt?: Date | null }>>,
    private readonly onCounts: (counts: Record<string, number>) => void,
    private readonly onError: (error: unknown) => void,
    private readonly now: () => number = Date.now,
    private readonly maxAgeMs = 1_000,
  ) {}

  /** Whether claims must return no tasks (stop_all_tasks in force). */
  dispatchPaused(): boolean {
    this.refreshIfOld();
    return this.flags.dispatchPaused;
  }

  /** Whether new work is refused (system_maintenance in force). */
  maintenance(): boolean {
    this.refreshIfOld();
    return this.flags.maintenance;
  }

  /** Seconds a refused caller should wait: until the maintenance expiry if known, else a minute. */
  retryAfterSeconds(): number {
    if (this.maintenanceUntil === null) return 60;
    return Math.max(1, Math.ceil((this.maintenanceUntil - this.now()) / 1000));
  }

  /** Reads the overrides in force now (after a change on this replica, or from the loop). */
  refresh(): Promise<void> {
    this.inflight ??= this.read()
      .then((active) => {
        this.flags = flagsOf(active);
        const until = active
          .filter((a) => a.action === "system_maintenance")
          .map((a) => a.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY);
        const latest = until.length > 0 ? Math.max(...until) : null;
        this.maintenanceUntil = latest === null || !Number.isFinite(latest) ? null : latest;
        const counts: Record<string, number> = Object.fromEntries(OVERRIDE_ACTIONS.map((a) => [a, 0]));
        for (const a of active) counts[a.action] = (counts[a.action] ?? 0) + 1;
        this.onCounts(counts);
        this.readAt = this.now();
      })
      .catch((error) => {
        // Keep the last known flags: an unreachable Postgres must not silently lift an override.
        this.onError(error);
      })
      .finally(() => {
        this.inflight = null;
      });
    return this.inflight;
  }

  private refreshIfOld(): void {
    if (this.now() - this.readAt >= this.maxAgeMs && !this.inflight) void this.refresh();
  }
}
