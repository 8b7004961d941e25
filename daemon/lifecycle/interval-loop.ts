import { LoopStats } from "./loop-stats.ts";

/**
 * A background loop on its own timer: runs `tick` every `intervalMs` (never overlapping), reports
 * errors instead of throwing, and stops idempotently, waiting for a running tick to finish.
 */
export class IntervalLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly stats = new LoopStats();

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
      this.stats.started();
      this.running = this.tick()
        .then(() => this.stats.succeeded())
        .catch((error) => {
          this.stats.failed(error);
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
    return this.stats.status(this.name, this.intervalMs);
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
