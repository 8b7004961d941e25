import { describe, expect, it } from "vitest";
import {
  type BudgetUse,
  budgetStatus,
  decideBudgetStep,
  periodWindow,
} from "../../daemon/budgets/budget-decision.ts";

const budget = (o: Partial<BudgetUse> = {}): BudgetUse => ({
  id: "b1",
  scope: "global",
  target: "",
  period: "day",
  softLimitUsd: null,
  hardLimitUsd: 10,
  onHard: "block",
  spentUsd: 0,
  ...o,
});
const noon = new Date("2026-11-24T12:00:00Z");

describe("periodWindow", () => {
  it("is the UTC day or calendar month around now", () => {
    expect(periodWindow("day", noon)).toEqual({
      start: new Date("2026-11-24T00:00:00Z"),
      end: new Date("2026-11-25T00:00:00Z"),
    });
    expect(periodWindow("month", new Date("2026-12-31T23:59:59Z"))).toEqual({
      start: new Date("2026-12-01T00:00:00Z"),
      end: new Date("2027-01-01T00:00:00Z"),
    });
    expect(periodWindow("month", new Date("2028-02-29T00:00:00Z")).end).toEqual(
      new Date("2028-03-01T00:00:00Z"),
    );
  });
});

describe("budgetStatus", () => {
  it("computes use, burn rate and projection against the elapsed share of the period", () => {
    // Half the day gone, 5 of 10 spent: exactly on course.
    const s = budgetStatus(budget({ spentUsd: 5, softLimitUsd: 4 }), noon);
    expect(s).toMatchObject({
      softUsed: 1.25,
      hardUsed: 0.5,
      burnRate: 1,
      projectedUsd: 10,
      state: "warning",
    });
    expect(budgetStatus(budget({ spentUsd: 7.5 }), noon).burnRate).toBe(1.5);
  });

  it("is exceeded only above the hard limit: a 10 USD budget allows 10 USD", () => {
    expect(budgetStatus(budget({ spentUsd: 10 }), noon).state).toBe("ok");
    expect(budgetStatus(budget({ spentUsd: 10.000001 }), noon).state).toBe("exceeded");
  });

  it("counts at least one minute of the period, so a first call is not an infinite rate", () => {
    const justAfterMidnight = new Date("2026-11-24T00:00:01Z");
    const s = budgetStatus(budget({ spentUsd: 1 }), justAfterMidnight);
    expect(Number.isFinite(s.burnRate)).toBe(true);
    expect(s.burnRate).toBeCloseTo((1 / 10) * 1440, 6);
  });
});

describe("decideBudgetStep", () => {
  const base = { now: noon, runLimitUsd: null, runSpentUsd: 0, approval: null };

  it("passes with no budgets and says nothing was enforced", () => {
    const v = decideBudgetStep({ ...base, budgets: [] });
    expect(v).toMatchObject({ kind: "pass", output: { enforced: false, exceeded: [] } });
  });

  it("blocks over a hard limit with the reason, and over the run's own limit", () => {
    const v = decideBudgetStep({ ...base, budgets: [budget({ spentUsd: 12 })] });
    expect(v.kind).toBe("block");
    if (v.kind !== "block") return;
    expect(v.message).toBe(
      "global daily budget: spent 12 USD, hard limit 10 USD (resets 2026-11-25T00:00:00.000Z)",
    );
    const run = decideBudgetStep({ ...base, budgets: [], runLimitUsd: 1, runSpentUsd: 1.5 });
    expect(run).toMatchObject({ kind: "block", message: "run budget: spent 1.5 USD, limit 1 USD" });
  });

  it("warns over a soft limit but passes", () => {
    const v = decideBudgetStep({ ...base, budgets: [budget({ softLimitUsd: 1, spentUsd: 2 })] });
    expect(v.kind).toBe("pass");
    if (v.kind === "pass") expect(v.warnings.map((w) => w.id)).toEqual(["b1"]);
  });

  it("waits for approval when every exceeded budget asks for it; approved passes, rejected blocks", () => {
    const over = budget({ spentUsd: 12, onHard: "approval" });
    expect(decideBudgetStep({ ...base, budgets: [over] }).kind).toBe("await_approval");
    expect(
      decideBudgetStep({
        ...base,
        budgets: [over],
        approval: { state: "pending", decidedBy: null, comment: null },
      }).kind,
    ).toBe("await_approval");
    const approved = decideBudgetStep({
      ...base,
      budgets: [over],
      approval: { state: "approved", decidedBy: "admin", comment: "ok" },
    });
    expect(approved).toMatchObject({ kind: "pass", output: { approved: { by: "admin", comment: "ok" } } });
    const rejected = decideBudgetStep({
      ...base,
      budgets: [over],
      approval: { state: "rejected", decidedBy: "admin", comment: "no" },
    });
    expect(rejected.kind).toBe("block");
    if (rejected.kind === "block")
      expect(rejected.message).toMatch(/^budget approval rejected by admin: no \(/);
  });

  it("blocks without asking when one exceeded budget blocks or the run is over its own limit", () => {
    const ask = budget({ id: "a", spentUsd: 12, onHard: "approval" });
    const block = budget({ id: "b", scope: "role", target: "writer", period: "month", spentUsd: 20 });
    expect(decideBudgetStep({ ...base, budgets: [ask, block] }).kind).toBe("block");
    expect(decideBudgetStep({ ...base, budgets: [ask], runLimitUsd: 1, runSpentUsd: 2 }).kind).toBe("block");
  });
});
