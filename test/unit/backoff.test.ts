import { describe, expect, it } from "vitest";
import { retryDelayMs } from "../../daemon/tasks/backoff.ts";

const BASE = 1_000;
const MAX = 60_000;
const zero = () => 0;
const one = () => 1;

describe("retryDelayMs", () => {
  it("is between half and all of the exponential delay", () => {
    for (let n = 1; n <= 6; n++) {
      const full = BASE * 2 ** (n - 1);
      expect(retryDelayMs(n, BASE, MAX, zero), `n=${n} random 0`).toBe(full / 2);
      expect(retryDelayMs(n, BASE, MAX, one), `n=${n} random 1`).toBe(full);
      const mid = retryDelayMs(n, BASE, MAX, () => 0.5);
      expect(mid).toBe(Math.round(full * 0.75));
    }
  });

  it("is capped at the maximum (and never below half of it once capped)", () => {
    for (const n of [7, 8, 20, 31, 32, 100, 10_000]) {
      expect(retryDelayMs(n, BASE, MAX, zero), `n=${n}`).toBe(MAX / 2);
      expect(retryDelayMs(n, BASE, MAX, one), `n=${n}`).toBe(MAX);
    }
  });

  it("treats zero or negative failures like the first", () => {
    expect(retryDelayMs(0, BASE, MAX, one)).toBe(BASE);
    expect(retryDelayMs(-3, BASE, MAX, one)).toBe(BASE);
  });

  it("grows with attempts until the cap", () => {
    const delays = Array.from({ length: 10 }, (_, i) => retryDelayMs(i + 1, BASE, MAX, () => 0.5));
    for (let i = 1; i < delays.length; i++) expect(delays[i]!).toBeGreaterThanOrEqual(delays[i - 1]!);
    expect(delays[1]!).toBeGreaterThan(delays[0]!);
    expect(delays.at(-1)).toBe(Math.round(MAX * 0.75));
  });

  it("stays in bounds with the real random source", () => {
    for (let i = 0; i < 1_000; i++) {
      const n = 1 + (i % 8);
      const full = Math.min(MAX, BASE * 2 ** (n - 1));
      const d = retryDelayMs(n, BASE, MAX);
      expect(d).toBeGreaterThanOrEqual(full / 2);
      expect(d).toBeLessThanOrEqual(full);
    }
  });

  it("returns whole milliseconds", () => {
    expect(Number.isInteger(retryDelayMs(1, 3, 100, () => 0.3))).toBe(true);
  });
});
