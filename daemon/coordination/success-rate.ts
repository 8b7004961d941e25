import { successRatio } from "../../contract/figures.ts";

/**
 * Pure success-rate arithmetic (docs/coordination.md) of the figure attempt_success_rate
 * (contract/figures.ts, docs/figures.md). An attempt succeeds when its outcome is `completed` and
 * fails when it is `failed`, `timed_out` or `lost`; `released` and `cancelled` attempts are
 * neither (nobody's fault) and are left out of the rate.
 */

export interface OutcomeCounts {
  completed: number;
  failed: number;
  timedOut: number;
  lost: number;
}

export type Trend = "improving" | "declining" | "stable";

/** A window's rate moves by at least this much (absolute, 0..1) before the trend is not "stable". */
export const TREND_THRESHOLD = 0.05;
/** Fewer ended attempts than this in either window is too little to call a trend: it is null. */
export const TREND_MIN_ATTEMPTS = 5;

export const SUCCESS_WINDOWS = { live: 5 * 60_000, "1h": 3_600_000, "24h": 86_400_000, "7d": 604_800_000 };
export type SuccessWindow = keyof typeof SUCCESS_WINDOWS;

export const failuresOf = (c: OutcomeCounts) => c.failed + c.timedOut + c.lost;

/** completed / (completed + failures), or null when nothing ended (an empty system has no rate). */
export function successRate(c: OutcomeCounts): number | null {
  return successRatio(c.completed, failuresOf(c));
}

/** The trend of `current` against `previous` (same length, just before it); null without enough data. */
export function trendOf(current: OutcomeCounts, previous: OutcomeCounts): Trend | null {
  const now = successRate(current);
  const before = successRate(previous);
  if (now === null || before === null) return null;
  if (current.completed + failuresOf(current) < TREND_MIN_ATTEMPTS) return null;
  if (previous.completed + failuresOf(previous) < TREND_MIN_ATTEMPTS) return null;
  const delta = now - before;
  if (delta >= TREND_THRESHOLD) return "improving";
  if (delta <= -TREND_THRESHOLD) return "declining";
  return "stable";
}

/** One window as the endpoint shows it. */
export function windowView(windowMs: number, current: OutcomeCounts, previous: OutcomeCounts) {
  const rate = successRate(current);
  const previousRate = successRate(previous);
  return {
    windowMs,
    completed: current.completed,
    failed: failuresOf(current),
    byOutcome: { failed: current.failed, timedOut: current.timedOut, lost: current.lost },
    ended: current.completed + failuresOf(current),
    rate,
    previous: { completed: previous.completed, failed: failuresOf(previous), rate: previousRate },
    delta: rate !== null && previousRate !== null ? rate - previousRate : null,
    trend: trendOf(current, previous),
  };
}

export const ZERO: OutcomeCounts = { completed: 0, failed: 0, timedOut: 0, lost: 0 };
