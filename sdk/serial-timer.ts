import type { Clock, TimerHandle } from "./runtime.ts";

/** Runs `tick` every interval, never two at once, each interval counted from the end of the previous tick. */
export class SerialTimer {
  private readonly clock: Clock;
  private readonly intervalMs: () => number | undefined;
  private readonly tick: () => Promise<void>;
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  /** `tick` must not reject; `intervalMs` returning undefined means "do not schedule yet". */
  constructor(clock: Clock, intervalMs: () => number | undefined, tick: () => Promise<void>) {
    this.clock = clock;
    this.intervalMs = intervalMs;
    this.tick = tick;
  }

  /** Arms the timer unless it is armed, running or stopped. */
  schedule(): void {
    if (this.timer !== undefined || this.running || this.stopped) return;
    const ms = this.intervalMs();
    if (ms === undefined) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.runNow();
    }, ms);
  }

  /** Ticks now (after any tick in progress, so the newest state is sent) and re-arms. */
  async runNow(): Promise<void> {
    while (this.running) await this.running;
    this.disarm();
    if (this.stopped) return;
    this.running = this.tick().finally(() => {
      this.running = undefined;
      this.schedule();
    });
    await this.running;
  }

  /** Stops for good; resolves when a tick in progress is over. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.disarm();
    await this.running;
  }

  private disarm(): void {
    if (this.timer === undefined) return;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
