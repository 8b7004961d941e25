/**
 * A background loop on its own timer: runs `tick` every `intervalMs` (never overlapping), reports
 * errors instead of throwing, and stops idempotently, waiting for a running tick to finish.
 */
export class IntervalLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  /** What the coordination diagnostics report about this loop (times are Date.now() ms). */
  private readonly stats = {
    runs: 0,
    errors: 0,
    lastRunAt: null as number | null,
    lastSuccessAt: null as number | null,
    lastError: null as string | null,
    lastErrorAt: null as number | null,
  };

  constructor(
    readonly name: string,
    private readonly intervalMs: number,
    private readonly tick: () => Promise<void>,
    private readonly onError: (error: unknown, loop: string) => void,
  ) {}

  start(): void {
    if (this.timer || this.stopped) return;
    this.schedule();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.stats.runs++;
      this.stats.lastRunAt = Date.now();
      this.running = this.tick()
        .then(() => {
          this.stats.lastSuccessAt = Date.now();
        })
        .catch((error) => {
          this.stats.errors++;
          this.stats.lastErrorAt = Date.now();
          this.stats.lastError = (error as Error)?.message ?? String(error);
          this.onError(error, this.name);
        })
        .finally(() => {
          this.running = null;
          if (!this.stopped) this.schedule();
        });
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Runs, errors and the times of the last pass, success and error. */
  status() {
    return { name: this.name, intervalMs: this.intervalMs, ...this.stats };
  }

  /** Runs one tick now (tests, and the first pass at start-up). */
  async runOnce(): Promise<void> {
    await this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }
}
