import { describe, expect, it } from "vitest";
import { percentile, perSecond, ratio, summarize } from "../../bench/stats.ts";

describe("percentile (nearest rank over raw samples)", () => {
  it("returns observed samples: p50 of 1..10 is 5, p90 is 9, p99 and p100 are 10, p0 is 1", () => {
    const samples = [7, 3, 10, 1, 5, 9, 2, 8, 4, 6];
    expect(percentile(samples, 50)).toBe(5);
    expect(percentile(samples, 90)).toBe(9);
    expect(percentile(samples, 99)).toBe(10);
    expect(percentile(samples, 100)).toBe(10);
    expect(percentile(samples, 0)).toBe(1);
  });

  it("with 20 samples p99 is the largest and p95 the 19th", () => {
    const samples = Array.from({ length: 20 }, (_, i) => (i + 1) * 10);
    expect(percentile(samples, 99)).toBe(200);
    expect(percentile(samples, 95)).toBe(190);
  });

  it("a single sample is every percentile", () => {
    for (const p of [0, 1, 50, 99, 100]) expect(percentile([42], p)).toBe(42);
  });

  it("does not reorder its input", () => {
    const samples = [3, 1, 2];
    percentile(samples, 50);
    expect(samples).toEqual([3, 1, 2]);
  });

  it("sorts numerically, not as strings", () => {
    expect(percentile([100, 9, 20], 50)).toBe(20);
  });

  it("rejects no samples, percentiles outside 0..100 and non-finite samples", () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], -1)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
    expect(() => percentile([1, Number.NaN], 50)).toThrow(RangeError);
    expect(() => percentile([1, Number.POSITIVE_INFINITY], 50)).toThrow(RangeError);
  });
});

describe("summarize, ratio, perSecond", () => {
  it("summarizes with the same percentiles", () => {
    expect(summarize([4, 1, 3, 2])).toEqual({ n: 4, min: 1, p50: 2, p90: 4, p99: 4, max: 4, mean: 2.5 });
  });

  it("ratio is null when a side is missing or the divisor is not positive", () => {
    expect(ratio(10, 4)).toBe(2.5);
    expect(ratio(null, 4)).toBeNull();
    expect(ratio(10, undefined)).toBeNull();
    expect(ratio(10, 0)).toBeNull();
    expect(ratio(Number.NaN, 1)).toBeNull();
  });

  it("perSecond", () => {
    expect(perSecond(500, 250)).toBe(2000);
  });
});
