import type { Clock, TimerHandle } from "./runtime.ts";

// setTimeout clamps longer delays to 1 ms; anything beyond means "no deadline".
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A deadline that starts unset and can only move earlier; `passed` resolves when it is reached. */
export class Deadline {
  readonly passed: Promise<void>;
  private readonly clock: Clock;
  private at = Number.POSITIVE_INFINITY;
  private timer: TimerHandle | undefined;
  private reach!: () => void;

  constructor(clock: Clock) {
    this.clock = clock;
    this.passed = new Promise((resolve) => {
      this.reach = resolve;
    });
  }

  /** Moves the deadline to `ms` from now if that is earlier; Infinity leaves it as it is. */
  shorten(ms: number): void {
    if (!(ms < MAX_TIMER_MS)) return;
    const at = this.clock.now() + Math.max(0, ms);
    if (!(at < this.at)) return;
    this.at = at;
    this.dispose();
    this.timer = this.clock.setTimeout(() => this.reach(), Math.max(0, ms));
  }

  /** Milliseconds until the deadline (0 once reached; Infinity while unset). */
  remaining(): number {
    return Math.max(0, this.at - this.clock.now());
  }

  /** Cancels the pending timer. */
  dispose(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
