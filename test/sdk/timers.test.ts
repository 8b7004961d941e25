import { describe, expect, it } from "vitest";
import { Deadline } from "../../sdk/deadline.ts";
import type { Clock } from "../../sdk/runtime.ts";
import { sleep } from "../../sdk/runtime.ts";
import { SerialTimer } from "../../sdk/serial-timer.ts";

/** A clock that only moves when told to. */
function manualClock(): Clock & { advance(ms: number): Promise<void> } {
  let now = 0;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimeout: (fn, ms) => {
      timers.set(++seq, { at: now + ms, fn });
      return seq;
    },
    clearTimeout: (handle) => {
      timers.delete(handle as number);
    },
    async advance(ms) {
      const target = now + ms;
      for (;;) {
        const due = [...timers.entries()]
          .filter(([, t]) => t.at <= target)
          .sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
        // Let promise callbacks scheduled by the timer run before the next one fires.
        for (let i = 0; i < 10; i++) await Promise.resolve();
      }
      now = target;
    },
  };
}

describe("timing helpers (manual clock)", () => {
  it("Deadline only moves earlier and resolves when reached", async () => {
    const clock = manualClock();
    const deadline = new Deadline(clock);
    let passed = false;
    void deadline.passed.then(() => {
      passed = true;
    });
    deadline.shorten(Number.POSITIVE_INFINITY);
    deadline.shorten(1_000);
    await clock.advance(400);
    deadline.shorten(5_000); // later than 1 000: ignored
    deadline.shorten(500); // 900: earlier, taken
    await clock.advance(499);
    expect(passed).toBe(false);
    await clock.advance(1);
    expect(passed).toBe(true);
  });

  it("SerialTimer ticks one at a time and counts the interval from the end of a tick", async () => {
    const clock = manualClock();
    const starts: number[] = [];
    const timer = new SerialTimer(
      clock,
      () => 100,
      async () => {
        starts.push(clock.now());
        await sleep(clock, 30);
      },
    );
    timer.schedule();
    await clock.advance(100);
    expect(starts).toEqual([100]);
    await clock.advance(30 + 100);
    expect(starts).toEqual([100, 230]);
    // runNow during a tick waits for it, then ticks again at once.
    const now = timer.runNow();
    await clock.advance(30);
    expect(starts).toEqual([100, 230, 260]);
    await clock.advance(30);
    await now;
    await timer.stop();
    await clock.advance(1_000);
    expect(starts).toEqual([100, 230, 260]);
  });
});
