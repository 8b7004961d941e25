import { isTerminalRun, type RunState, type StepState } from "./run-plan.ts";
import type { StepDefinition } from "./template-types.ts";

export interface StepProgress {
  id: string;
  state: StepState;
  /** The step's own progress report, 0..100, while running. */
  percent?: number | null;
}

/** Each step's share of the run: its band's width, else its weight (default 1). */
export function stepWeights(steps: StepDefinition[]): Map<string, number> {
  return new Map(steps.map((s) => [s.id, s.band ? s.band[1] - s.band[0] : (s.weight ?? 1)]));
}

/**
 * The run's percent from step states and step progress reports. Monotonic given the previous
 * value, and 100 only once the run has completed: a running run tops out just below.
 */
export function runPercent(
  steps: StepDefinition[],
  progress: Map<string, StepProgress>,
  previous: number,
  completed: boolean,
): number {
  if (completed) return 100;
  const weights = stepWeights(steps);
  let total = 0;
  let done = 0;
  for (const s of steps) {
    const w = weights.get(s.id) ?? 1;
    total += w;
    const p = progress.get(s.id);
    if (!p) continue;
    if (p.state === "completed" || p.state === "skipped") done += w;
    // A failed or cancelled step keeps the progress it made: percent must not drop when it ends.
    else if ((p.state === "running" || p.state === "failed" || p.state === "cancelled") && p.percent != null)
      done += (w * Math.min(100, Math.max(0, p.percent))) / 100;
  }
  const computed = total > 0 ? (100 * done) / total : 0;
  return Math.max(previous, Math.min(99.9, Math.round(computed * 10) / 10));
}

export interface EtaInput {
  steps: StepDefinition[];
  states: Map<string, { state: StepState; elapsedMs: number }>;
  /** Median duration of each step over earlier runs of this template version, with sample counts. */
  history: Map<string, { medianMs: number; samples: number }>;
  elapsedMs: number;
  percent: number;
  /** Fewer samples than this for a remaining step: fall back to the observed rate. */
  minSamples?: number;
}

export interface Eta {
  remainingMs: number | null;
  /** `history`: remaining steps' median durations along the longest path; `rate`: elapsed / percent. */
  method: "history" | "rate" | "none";
}

/**
 * Estimated time to completion. Prefers the template version's history (longest remaining path of
 * median step durations, minus time already spent in running steps); falls back to the run's own
 * rate of progress; says "none" rather than guess when neither exists. Pure.
 */
export function estimateEta(input: EtaInput): Eta {
  const minSamples = input.minSamples ?? 3;
  const remaining = input.steps.filter((s) => {
    const st = input.states.get(s.id)?.state ?? "pending";
    return st === "pending" || st === "running";
  });
  if (remaining.length === 0) return { remainingMs: 0, method: "history" };
  if (remaining.every((s) => (input.history.get(s.id)?.samples ?? 0) >= minSamples)) {
    const byId = new Map(input.steps.map((s) => [s.id, s]));
    const left = new Set(remaining.map((s) => s.id));
    const finishAt = new Map<string, number>();
    // Longest path over remaining steps, in topological order (the template's order is one).
    const order = input.steps.filter((s) => left.has(s.id));
    for (const s of order) {
      const st = input.states.get(s.id);
      const own = Math.max(
        0,
        (input.history.get(s.id)?.medianMs ?? 0) - (st?.state === "running" ? st.elapsedMs : 0),
      );
      const start = Math.max(0, ...(byId.get(s.id)?.dependsOn ?? []).map((d) => finishAt.get(d) ?? 0));
      finishAt.set(s.id, start + own);
    }
    return { remainingMs: Math.round(Math.max(0, ...finishAt.values())), method: "history" };
  }
  if (input.percent > 0 && input.elapsedMs > 0) {
    return {
      remainingMs: Math.round((input.elapsedMs * (100 - input.percent)) / input.percent),
      method: "rate",
    };
  }
  return { remainingMs: null, method: "none" };
}

/** A run's ETA as its view answers it: time left, the moment, and how it was estimated. */
export interface RunEta {
  remainingMs: number | null;
  at: string | null;
  method: Eta["method"];
}

/**
 * The ETA a run's view shows, from the run's state and an estimate of the work left. Pure: `now`
 * is the caller's clock. A finished run (completed, failed, cancelled) has nothing left: its ETA is
 * its finish time, not the time of the request. A snoozed run does no work before its snooze ends,
 * so its remaining work starts then: the ETA is never before `snoozedUntil`. `estimate` is the
 * work left (`estimateEta`); it is not needed for a finished run (null).
 */
export function runEta(
  run: { state: RunState; finishedAt: Date | null; snoozedUntil: Date | null },
  now: number,
  estimate: Eta | null,
): RunEta {
  if (isTerminalRun(run.state)) {
    return { remainingMs: 0, at: run.finishedAt ? run.finishedAt.toISOString() : null, method: "none" };
  }
  const eta = estimate ?? { remainingMs: null, method: "none" };
  if (eta.remainingMs === null) return { remainingMs: null, at: null, method: eta.method };
  const start = run.state === "snoozed" && run.snoozedUntil ? Math.max(now, run.snoozedUntil.getTime()) : now;
  const remainingMs = start - now + eta.remainingMs;
  return { remainingMs, at: new Date(now + remainingMs).toISOString(), method: eta.method };
}
