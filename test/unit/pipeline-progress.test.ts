import { describe, expect, it } from "vitest";
import { MISSION_TEMPLATE, STORY_TEMPLATE } from "../../daemon/pipelines/builtin-templates.ts";
import type { StepState } from "../../daemon/pipelines/run-plan.ts";
import {
  estimateEta,
  runEta,
  runPercent,
  type StepProgress,
  stepWeights,
} from "../../daemon/pipelines/run-progress.ts";
import type { StepDefinition } from "../../daemon/pipelines/template-types.ts";

const step = (id: string, dependsOn: string[] = [], extra: Partial<StepDefinition> = {}): StepDefinition => ({
  id,
  name: id,
  executor: { kind: "agent", capability: `cap.${id}` },
  dependsOn,
  ...extra,
});

const progress = (entries: Record<string, StepState | [StepState, number | null]>) =>
  new Map<string, StepProgress>(
    Object.entries(entries).map(([id, v]) => {
      const [state, percent] = Array.isArray(v) ? v : [v, undefined];
      return [id, { id, state, percent }];
    }),
  );

describe("runPercent", () => {
  const mission = MISSION_TEMPLATE.steps;
  const story = STORY_TEMPLATE.steps;

  it("weighs steps by their band's width", () => {
    expect(stepWeights(mission).get("intent")).toBe(25);
    expect(runPercent(mission, progress({}), 0, false)).toBe(0);
    expect(runPercent(mission, progress({ verification: "completed" }), 0, false)).toBe(5);
    expect(
      runPercent(
        mission,
        progress({ verification: "completed", intent: "completed", budget: "completed" }),
        0,
        false,
      ),
    ).toBe(40);
  });

  it("weighs steps by weight without bands (default 1)", () => {
    // story weights: 2 1 2 1 4 3 2 2 = 17
    expect(runPercent(story, progress({ requirements: "completed" }), 0, false)).toBe(11.8);
    const plain = [step("a"), step("b", ["a"]), step("c", ["b"], { weight: 2 })];
    expect(runPercent(plain, progress({ a: "completed" }), 0, false)).toBe(25);
    expect(runPercent(plain, progress({ a: "completed", b: "skipped" }), 0, false)).toBe(50);
  });

  it("counts a running step's own progress as a share of its weight", () => {
    const p = progress({ verification: "completed", intent: ["running", 40] });
    expect(runPercent(mission, p, 0, false)).toBe(15); // 5 + 25 * 0.4
    // No report yet, or out-of-range reports: clamped.
    expect(
      runPercent(mission, progress({ verification: "completed", intent: ["running", null] }), 0, false),
    ).toBe(5);
    expect(
      runPercent(mission, progress({ verification: "completed", intent: ["running", 250] }), 0, false),
    ).toBe(30);
    expect(
      runPercent(mission, progress({ verification: "completed", intent: ["running", -10] }), 0, false),
    ).toBe(5);
    // A failed step keeps the progress it made (the stored percent must not drop when it fails);
    // a pending one has none.
    expect(
      runPercent(mission, progress({ verification: "completed", intent: ["failed", 80] }), 0, false),
    ).toBe(25);
    expect(
      runPercent(mission, progress({ verification: "completed", intent: ["pending", 80] }), 0, false),
    ).toBe(5);
  });

  it("never goes below the previous value", () => {
    // A retried step starts again from 0: the run's percent stays where it was.
    const p = progress({ verification: "completed", intent: ["running", 0] });
    expect(runPercent(mission, p, 22.5, false)).toBe(22.5);
    expect(
      runPercent(mission, progress({ verification: "completed", intent: ["running", 80] }), 22.5, false),
    ).toBe(25);
    let previous = 0;
    for (const pct of [0, 10, 50, 30, 90, 100]) {
      const next = runPercent(
        mission,
        progress({ verification: "completed", intent: ["running", pct] }),
        previous,
        false,
      );
      expect(next).toBeGreaterThanOrEqual(previous);
      previous = next;
    }
  });

  it("is never 100 before the run has completed, and exactly 100 when it has", () => {
    const allDone = progress(Object.fromEntries(mission.map((s) => [s.id, "completed" as StepState])));
    expect(runPercent(mission, allDone, 0, false)).toBe(99.9);
    expect(runPercent(mission, allDone, 99.9, false)).toBe(99.9);
    expect(runPercent(mission, allDone, 0, true)).toBe(100);
    expect(runPercent(mission, progress({}), 12, true)).toBe(100);
  });

  it("rounds to a tenth", () => {
    const three = [step("a"), step("b"), step("c")];
    expect(runPercent(three, progress({ a: "completed" }), 0, false)).toBe(33.3);
    expect(runPercent(three, progress({ a: "completed", b: "completed" }), 0, false)).toBe(66.7);
  });
});

describe("estimateEta", () => {
  // a -> (b, c) -> d: the longest path is a, b, d.
  const dag = [step("a"), step("b", ["a"]), step("c", ["a"]), step("d", ["b", "c"])];
  const history = new Map([
    ["a", { medianMs: 100, samples: 5 }],
    ["b", { medianMs: 500, samples: 5 }],
    ["c", { medianMs: 200, samples: 5 }],
    ["d", { medianMs: 50, samples: 5 }],
  ]);
  const states = (entries: Record<string, [StepState, number]>) =>
    new Map(Object.entries(entries).map(([id, [state, elapsedMs]]) => [id, { state, elapsedMs }]));

  it("adds median durations along the longest remaining path", () => {
    expect(estimateEta({ steps: dag, states: states({}), history, elapsedMs: 0, percent: 0 })).toEqual({
      remainingMs: 650,
      method: "history",
    });
    // A long side branch becomes the longest path.
    const slowC = new Map(history).set("c", { medianMs: 900, samples: 5 });
    expect(estimateEta({ steps: dag, states: states({}), history: slowC, elapsedMs: 0, percent: 0 })).toEqual(
      {
        remainingMs: 1050,
        method: "history",
      },
    );
  });

  it("leaves out done steps and subtracts what running steps have already spent", () => {
    const s = states({ a: ["completed", 0], b: ["running", 200], c: ["running", 50] });
    // b: 300 left, c: 150 left; d starts after the later of them.
    expect(estimateEta({ steps: dag, states: s, history, elapsedMs: 400, percent: 40 })).toEqual({
      remainingMs: 350,
      method: "history",
    });
    // A step running longer than its median has nothing left (not a negative time).
    const over = states({ a: ["completed", 0], b: ["running", 5_000], c: ["skipped", 0] });
    expect(estimateEta({ steps: dag, states: over, history, elapsedMs: 5_100, percent: 60 })).toEqual({
      remainingMs: 50,
      method: "history",
    });
  });

  it("is 0 when nothing remains", () => {
    const s = states({ a: ["completed", 0], b: ["completed", 0], c: ["skipped", 0], d: ["completed", 0] });
    expect(estimateEta({ steps: dag, states: s, history: new Map(), elapsedMs: 10, percent: 99.9 })).toEqual({
      remainingMs: 0,
      method: "history",
    });
  });

  it("falls back to the run's own rate when a remaining step lacks history", () => {
    const thin = new Map(history).set("d", { medianMs: 50, samples: 2 });
    expect(
      estimateEta({ steps: dag, states: states({}), history: thin, elapsedMs: 1_000, percent: 25 }),
    ).toEqual({
      remainingMs: 3_000,
      method: "rate",
    });
    // With a lower sample threshold the history is good enough.
    expect(
      estimateEta({
        steps: dag,
        states: states({}),
        history: thin,
        elapsedMs: 1_000,
        percent: 25,
        minSamples: 2,
      }),
    ).toEqual({ remainingMs: 650, method: "history" });
    // Only remaining steps need history: a done step without any does not matter.
    const noA = new Map(history);
    noA.delete("a");
    expect(
      estimateEta({
        steps: dag,
        states: states({ a: ["completed", 0] }),
        history: noA,
        elapsedMs: 100,
        percent: 10,
      }),
    ).toEqual({ remainingMs: 550, method: "history" });
  });

  it('says "none" rather than guess without history or progress', () => {
    for (const [elapsedMs, percent] of [
      [0, 0],
      [5_000, 0],
      [0, 10],
    ] as Array<[number, number]>) {
      expect(estimateEta({ steps: dag, states: states({}), history: new Map(), elapsedMs, percent })).toEqual(
        {
          remainingMs: null,
          method: "none",
        },
      );
    }
  });
});

describe("runEta", () => {
  const now = Date.parse("2026-12-01T12:00:00.000Z");
  const at = (ms: number) => new Date(now + ms);
  const run = (
    state: Parameters<typeof runEta>[0]["state"],
    extra: { finishedAt?: Date; snoozedUntil?: Date } = {},
  ) => ({
    state,
    finishedAt: extra.finishedAt ?? null,
    snoozedUntil: extra.snoozedUntil ?? null,
  });

  it("a running run finishes the estimated time from now", () => {
    expect(runEta(run("running"), now, { remainingMs: 5_000, method: "history" })).toEqual({
      remainingMs: 5_000,
      at: at(5_000).toISOString(),
      method: "history",
    });
    expect(runEta(run("running"), now, { remainingMs: null, method: "none" })).toEqual({
      remainingMs: null,
      at: null,
      method: "none",
    });
  });

  it("a snoozed run's ETA is at or after its snooze end: the work left starts when it wakes", () => {
    const snoozed = run("snoozed", { snoozedUntil: at(60_000) });
    const eta = runEta(snoozed, now, { remainingMs: 5_000, method: "rate" });
    expect(eta).toEqual({ remainingMs: 65_000, at: at(65_000).toISOString(), method: "rate" });
    // Nothing left to do still waits for the snooze.
    const idle = runEta(snoozed, now, { remainingMs: 0, method: "history" });
    expect(idle.at).toBe(at(60_000).toISOString());
    expect(Date.parse(idle.at as string)).toBeGreaterThanOrEqual(snoozed.snoozedUntil!.getTime());
    // A snooze already over (its wake-up pass not yet run) counts from now, never from the past.
    const late = runEta(run("snoozed", { snoozedUntil: at(-10_000) }), now, {
      remainingMs: 1_000,
      method: "rate",
    });
    expect(late).toEqual({ remainingMs: 1_000, at: at(1_000).toISOString(), method: "rate" });
  });

  it("a finished run's ETA is its finish time, not the time of the request", () => {
    for (const state of ["completed", "failed", "cancelled"] as const) {
      const finishedAt = at(-3_600_000);
      expect(runEta(run(state, { finishedAt }), now, null)).toEqual({
        remainingMs: 0,
        at: finishedAt.toISOString(),
        method: "none",
      });
      // Whatever the estimate would say, and whenever it is asked.
      expect(
        runEta(run(state, { finishedAt }), now + 86_400_000, { remainingMs: 9, method: "rate" }).at,
      ).toBe(finishedAt.toISOString());
    }
  });
});
