import { describe, expect, it } from "vitest";
import {
  ATTEMPT_RESULTS,
  FIGURES,
  type Figure,
  RUN_OUTCOMES,
  successRatio,
  TASK_OUTCOMES,
} from "../../contract/figures.ts";
import { RUN_STATES } from "../../contract/schemas/pipelines.ts";
import { ATTEMPT_OUTCOMES, TASK_STATES } from "../../contract/schemas/tasks.ts";

/** The registry's state sets classify every state the contract knows, each exactly once. */
describe("figures registry", () => {
  it("sorts every task, run and attempt state into exactly one set", () => {
    const flat = (sets: Record<string, readonly string[]>) => Object.values(sets).flat().sort();
    expect(flat(TASK_OUTCOMES)).toEqual([...TASK_STATES].sort());
    expect(flat(RUN_OUTCOMES)).toEqual([...RUN_STATES].sort());
    expect(flat(ATTEMPT_RESULTS)).toEqual([...ATTEMPT_OUTCOMES].sort());
  });

  it("leaves cancelled out of every success rate", () => {
    expect(TASK_OUTCOMES.excluded).toContain("cancelled");
    expect(RUN_OUTCOMES.excluded).toContain("cancelled");
    expect(ATTEMPT_RESULTS.excluded).toEqual(expect.arrayContaining(["released", "cancelled"]));
  });

  it("a ratio with no denominator is null; 0 is a value", () => {
    expect(successRatio(0, 0)).toBeNull();
    expect(successRatio(0, 3)).toBe(0);
    expect(successRatio(5, 2)).toBe(5 / 7);
  });

  it("every ratio and mean says when it is null, every count never is; ids are the keys", () => {
    for (const [key, f] of Object.entries(FIGURES as Record<string, Figure>)) {
      expect(f.id).toBe(key);
      if (f.unit === "ratio" || f.unit === "ms") expect(f.whenNull, key).toBeTruthy();
      if (f.unit === "count" || f.unit === "usd" || f.unit === "tokens")
        expect(f.whenNull, key).toBeUndefined();
      if (f.unit === "ratio") expect(f.over, key).toBeTruthy();
      if (f.metric) expect(f.metric.name).toMatch(/^overseer_figure_[a-z_]+$/);
    }
  });
});
