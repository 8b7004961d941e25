/**
 * Percentile by the nearest-rank method over raw samples: the smallest sample such that at least
 * `p` percent of the samples are less than or equal to it. It always returns a value that was
 * observed (no interpolation), so with 20 samples p99 is the maximum, and says so honestly.
 * Pure: `samples` is not reordered.
 */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new RangeError("percentile of no samples");
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  for (const s of samples) {
    if (!Number.isFinite(s)) throw new RangeError(`samples must be finite numbers, got ${s}`);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

export interface Summary {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** The usual order statistics of a sample, each computed over the raw values. */
export function summarize(samples: readonly number[]): Summary {
  return {
    n: samples.length,
    min: percentile(samples, 0),
    p50: percentile(samples, 50),
    p90: percentile(samples, 90),
    p99: percentile(samples, 99),
    max: percentile(samples, 100),
    mean: samples.reduce((a, b) => a + b, 0) / samples.length,
  };
}

/** `a / b`, or null when either side is missing or the divisor is not a positive finite number. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b <= 0) return null;
  return a / b;
}

/** Events per second for `count` events over `ms` milliseconds. */
export function perSecond(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : Number.POSITIVE_INFINITY;
}
