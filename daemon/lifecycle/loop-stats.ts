/**
 * What the coordination diagnostics report about a background loop (times are Date.now() ms),
 * kept the same way by every loop: IntervalLoop and the leader election's own timer.
 */
export class LoopStats {
  runs = 0;
  errors = 0;
  lastRunAt: number | null = null;
  lastSuccessAt: number | null = null;
  lastError: string | null = null;
  lastErrorAt: number | null = null;

  started(): void {
    this.runs++;
    this.lastRunAt = Date.now();
  }

  succeeded(): void {
    this.lastSuccessAt = Date.now();
  }

  failed(error: unknown): void {
    this.errors++;
    this.lastErrorAt = Date.now();
    this.lastError = (error as Error)?.message ?? String(error);
  }

  /** The loop's status as the diagnostics show it. */
  status(name: string, intervalMs: number) {
    const { runs, errors, lastRunAt, lastSuccessAt, lastError, lastErrorAt } = this;
    return { name, intervalMs, runs, errors, lastRunAt, lastSuccessAt, lastError, lastErrorAt };
  }
}
