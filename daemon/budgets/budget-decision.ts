// Pure budget arithmetic: period windows, use, burn rate, and the verdict of a mission's budget
// step. No I/O and no clock of its own: callers pass `now`, so tests pin every boundary.

import type {
  ApprovalStateName,
  BudgetPeriod,
  BudgetScope,
  BudgetState,
  OnHardLimit,
} from "../../contract/schemas/budgets.ts";

export type { BudgetPeriod, BudgetScope, BudgetState, OnHardLimit };

export interface Budget {
  id: string;
  scope: BudgetScope;
  /** '' for global; the template or role name otherwise. */
  target: string;
  period: BudgetPeriod;
  softLimitUsd: number | null;
  hardLimitUsd: number | null;
  onHard: OnHardLimit;
}

/** A budget with what its scope spent in the current period. */
export interface BudgetUse extends Budget {
  spentUsd: number;
}

export interface BudgetStatus extends BudgetUse {
  periodStart: string;
  periodEnd: string;
  /** spent / soft limit and spent / hard limit; null where that limit is not set. */
  softUsed: number | null;
  hardUsed: number | null;
  /**
   * How fast the period's allowance is burning: (spent / limit) / (elapsed part of the period), with
   * the hard limit, else the soft one. 1 spends exactly the limit by the period's end; 2 twice it.
   */
  burnRate: number;
  /** Spend at the period's end if the rate so far goes on. */
  projectedUsd: number;
  state: BudgetState;
}

/** The current UTC day or calendar month containing `now`: [start, end). */
export function periodWindow(period: BudgetPeriod, now: Date): { start: Date; end: Date } {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  if (period === "day") {
    const start = new Date(Date.UTC(y, m, now.getUTCDate()));
    return { start, end: new Date(start.getTime() + 86_400_000) };
  }
  return { start: new Date(Date.UTC(y, m, 1)), end: new Date(Date.UTC(y, m + 1, 1)) };
}

const round = (n: number, digits = 8) => Math.round(n * 10 ** digits) / 10 ** digits;

/** "Over" a limit means spent more than it: a budget of 5 USD allows 5 USD. */
export const over = (spentUsd: number, limitUsd: number | null): boolean =>
  limitUsd !== null && spentUsd > limitUsd;

/** The status of a budget now; whatever else `use` carries (its description, its dates) is kept. */
export function budgetStatus<U extends BudgetUse>(use: U, now: Date): U & BudgetStatus {
  const { start, end } = periodWindow(use.period, now);
  const length = end.getTime() - start.getTime();
  // At least one minute elapsed: a spend in the first second must not read as an infinite rate.
  const elapsed = Math.min(length, Math.max(60_000, now.getTime() - start.getTime())) / length;
  const limit = use.hardLimitUsd ?? use.softLimitUsd ?? 0;
  const state: BudgetState = over(use.spentUsd, use.hardLimitUsd)
    ? "exceeded"
    : over(use.spentUsd, use.softLimitUsd)
      ? "warning"
      : "ok";
  return {
    ...use,
    spentUsd: round(use.spentUsd),
    periodStart: start.toISOString(),
    periodEnd: end.toISOString(),
    softUsed: use.softLimitUsd === null ? null : round(use.spentUsd / use.softLimitUsd, 6),
    hardUsed: use.hardLimitUsd === null ? null : round(use.spentUsd / use.hardLimitUsd, 6),
    burnRate: limit > 0 ? round(use.spentUsd / limit / elapsed, 6) : 0,
    projectedUsd: round(use.spentUsd / elapsed),
    state,
  };
}

/** One line of a budget step's reason: "global daily budget: spent 5.3 USD, hard limit 5 USD". */
export function describeBudget(b: Budget): string {
  const what = b.scope === "global" ? "global" : `${b.scope} ${b.target}`;
  return `${what} ${b.period === "day" ? "daily" : "monthly"} budget`;
}

export interface ApprovalState {
  state: ApprovalStateName;
  decidedBy: string | null;
  comment: string | null;
}

export interface BudgetStepInput {
  now: Date;
  /** Budgets that apply to the run, with their current spend. */
  budgets: BudgetUse[];
  /** The run's own limit (`input.budgetUsd`), and what its recorded LLM calls cost so far. */
  runLimitUsd: number | null;
  runSpentUsd: number;
  /** This step generation's approval, if one was requested. */
  approval: ApprovalState | null;
}

export type BudgetVerdict =
  | { kind: "pass"; output: Record<string, unknown>; warnings: BudgetStatus[] }
  | { kind: "block"; message: string; output: Record<string, unknown> }
  | { kind: "await_approval"; message: string; output: Record<string, unknown> };

const usd = (n: number) => `${round(n, 6)} USD`;

/**
 * What the budget step does. Over a hard limit whose budget says `block`, or over the run's own
 * limit: the step fails with every reason. Over hard limits that all say `approval`: the step waits
 * for an operator (approved: it passes; rejected: it fails). Over a soft limit: it passes and warns.
 */
export function decideBudgetStep(input: BudgetStepInput): BudgetVerdict {
  const statuses = input.budgets.map((b) => budgetStatus(b, input.now));
  const exceeded = statuses.filter((s) => s.state === "exceeded");
  const warnings = statuses.filter((s) => s.state === "warning");
  const runOver = over(input.runSpentUsd, input.runLimitUsd);
  const reasons = exceeded.map(
    (s) =>
      `${describeBudget(s)}: spent ${usd(s.spentUsd)}, hard limit ${usd(s.hardLimitUsd ?? 0)} (resets ${s.periodEnd})`,
  );
  if (runOver) {
    reasons.unshift(`run budget: spent ${usd(input.runSpentUsd)}, limit ${usd(input.runLimitUsd ?? 0)}`);
  }
  const output = {
    enforced: statuses.length > 0 || input.runLimitUsd !== null,
    runLimitUsd: input.runLimitUsd,
    runSpentUsd: round(input.runSpentUsd),
    budgets: statuses.map((s) => ({
      id: s.id,
      scope: s.scope,
      target: s.target,
      period: s.period,
      spentUsd: s.spentUsd,
      softLimitUsd: s.softLimitUsd,
      hardLimitUsd: s.hardLimitUsd,
      state: s.state,
    })),
    exceeded: reasons,
  };
  if (reasons.length === 0) return { kind: "pass", output: { ...output, approved: null }, warnings };
  const approvable = !runOver && exceeded.every((s) => s.onHard === "approval");
  if (!approvable) return { kind: "block", message: reasons.join("; "), output };
  if (input.approval?.state === "approved") {
    return {
      kind: "pass",
      output: { ...output, approved: { by: input.approval.decidedBy, comment: input.approval.comment } },
      warnings,
    };
  }
  if (input.approval?.state === "rejected") {
    const by = input.approval.decidedBy ?? "an operator";
    const note = input.approval.comment ? `: ${input.approval.comment}` : "";
    return {
      kind: "block",
      message: `budget approval rejected by ${by}${note} (${reasons.join("; ")})`,
      output,
    };
  }
  return {
    kind: "await_approval",
    message: `waiting for an operator's budget approval: ${reasons.join("; ")}`,
    output,
  };
}
