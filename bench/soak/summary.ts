/**
 * The soak's verdict, pure: per series first / peak / last, the mean of the second and the last
 * quarter of the run, and the least-squares slope over the second half.
 *
 * Rule (docs/soak.md): a series GROWS when both
 *   (a) mean(last quarter) > mean(second quarter) × (1 + tolerance), and
 *   (b) slope(second half) × (duration of the second half) > tolerance × mean(second quarter);
 * otherwise it is BOUNDED. The first quarter is left out of the baseline: it holds start-up, JIT
 * warm-up and the fill before retention first deletes anything. Both conditions are needed so that
 * one spike at the end (a) or a slow wobble inside the noise (b) alone is not called growth.
 * A series with fewer than 8 samples gets "too short".
 */
export interface SeriesPoint {
  /** Seconds since the start of the run. */
  t: number;
  v: number;
}

export type Verdict = "bounded" | "grows" | "too short";

export interface SeriesSummary {
  series: string;
  n: number;
  first: number;
  peak: number;
  last: number;
  meanQ2: number;
  meanQ4: number;
  /** Change per hour, by least squares over the second half. */
  slopePerHour: number;
  verdict: Verdict;
}

const mean = (xs: number[]) => (xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

/** Least-squares slope of v over t (per second); 0 with fewer than two distinct times. */
export function slope(points: SeriesPoint[]): number {
  if (points.length < 2) return 0;
  const mt = mean(points.map((p) => p.t));
  const mv = mean(points.map((p) => p.v));
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.v - mv);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export function summarizeSeries(
  series: string,
  points: SeriesPoint[],
  durationS: number,
  tolerance: number,
): SeriesSummary {
  const within = (from: number, to: number) =>
    points.filter((p) => p.t >= from * durationS && (to >= 1 ? p.t <= durationS : p.t < to * durationS));
  const q2 = within(0.25, 0.5).map((p) => p.v);
  const q4 = within(0.75, 1).map((p) => p.v);
  const half = within(0.5, 1);
  const s = slope(half);
  const meanQ2 = mean(q2);
  const meanQ4 = mean(q4);
  let verdict: Verdict = "bounded";
  if (points.length < 8 || q2.length === 0 || q4.length === 0 || half.length < 2) verdict = "too short";
  else {
    const halfSpan = (half.at(-1)?.t ?? 0) - (half[0]?.t ?? 0);
    const a = meanQ4 > meanQ2 * (1 + tolerance);
    const b = s * halfSpan > tolerance * Math.abs(meanQ2);
    if (a && b) verdict = "grows";
  }
  const values = points.map((p) => p.v);
  return {
    series,
    n: points.length,
    first: values[0] ?? Number.NaN,
    peak: values.length ? Math.max(...values) : Number.NaN,
    last: values.at(-1) ?? Number.NaN,
    meanQ2,
    meanQ4,
    slopePerHour: s * 3600,
    verdict,
  };
}

/** Every numeric leaf of a sample, by dotted path ("daemons.0.rssMiB"). */
export function flatten(
  value: unknown,
  prefix = "",
  out: Record<string, number> = {},
): Record<string, number> {
  if (typeof value === "number" && Number.isFinite(value)) out[prefix] = value;
  else if (value && typeof value === "object")
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  return out;
}

/** Summaries of the given series of samples (each sample has `elapsedS`). */
export function summarize(
  samples: Array<{ elapsedS: number; gauges: unknown }>,
  durationS: number,
  tolerance: number,
): SeriesSummary[] {
  const bySeries = new Map<string, SeriesPoint[]>();
  for (const s of samples) {
    for (const [k, v] of Object.entries(flatten(s.gauges))) {
      const list = bySeries.get(k) ?? [];
      list.push({ t: s.elapsedS, v });
      bySeries.set(k, list);
    }
  }
  return [...bySeries].map(([k, pts]) => summarizeSeries(k, pts, durationS, tolerance));
}

const fmt = (x: number) =>
  !Number.isFinite(x)
    ? "-"
    : Math.abs(x) >= 100
      ? x.toFixed(0)
      : Math.abs(x) >= 1
        ? x.toFixed(2)
        : x.toFixed(3);

/** A plain-text table (also valid Markdown). */
export function formatTable(rows: SeriesSummary[]): string {
  const head = [
    "series",
    "n",
    "first",
    "peak",
    "last",
    "mean Q2",
    "mean Q4",
    "slope/h (2nd half)",
    "verdict",
  ];
  const body = rows.map((r) => [
    r.series,
    String(r.n),
    fmt(r.first),
    fmt(r.peak),
    fmt(r.last),
    fmt(r.meanQ2),
    fmt(r.meanQ4),
    fmt(r.slopePerHour),
    r.verdict,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(" | ")} |`;
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}
