import { successRatio } from "../../contract/figures.ts";
import {
  type ComparedKpi,
  KPI_COMPARED,
  KPI_RANGES,
  type KpiChange,
  type KpiChanges,
  type KpiRange,
  type KpiReply,
  type Kpis,
} from "../../contract/schemas/analytics.ts";
import type { BudgetStatus } from "../budgets/budget-decision.ts";
import { type KpiPeriodRow, kpiReadsStore } from "../store/kpi-reads-store.ts";
import type { Queryable } from "../store/pg-pool.ts";

export { KPI_RANGES, type KpiRange, type Kpis };
/** A KPI's change against the previous period. */
export type Change = KpiChange;

const DAYS: Record<Exclude<KpiRange, "all">, number> = { "7days": 7, "30days": 30, "90days": 90 };
const DAY_MS = 86_400_000;

const round8 = (n: number) => Math.round(n * 1e8) / 1e8;

/** Absolute and relative change; relative is null when the previous value is 0 or either is null. */
export function change(current: number | null, previous: number | null): Change {
  if (current === null || previous === null) return { absolute: null, relative: null };
  return {
    absolute: round8(current - previous),
    relative: previous === 0 ? null : (current - previous) / previous,
  };
}

/** Every compared KPI's change from `before` to `current`. */
function changes(current: Kpis, before: Kpis): KpiChanges {
  const out: Partial<Record<ComparedKpi, KpiChange>> = {};
  for (const k of KPI_COMPARED) out[k] = change(current[k], before[k]);
  return out as KpiChanges;
}

/** Spend against the budgets defined now (BudgetService.status). */
export interface BudgetStatusReads {
  status(now: Date): Promise<BudgetStatus[]>;
}

/**
 * The headline KPIs for a range ending now, and the same measures over the previous period of the
 * same length. Computed from Postgres at request time; an empty system answers zeros and nulls.
 * Each measure is a figure of contract/figures.ts (docs/figures.md), defined there once.
 * `budget` is null while no budget is defined: never a made-up limit.
 */
export class KpiReads {
  constructor(
    private readonly db: Queryable,
    private readonly budgets: BudgetStatusReads,
  ) {}

  async kpis(range: KpiRange, now = new Date()): Promise<KpiReply> {
    const to = now;
    const from = range === "all" ? null : new Date(to.getTime() - DAYS[range] * DAY_MS);
    const previous =
      from === null ? null : { from: new Date(from.getTime() - (to.getTime() - from.getTime())), to: from };
    const [current, before, budgets] = await Promise.all([
      this.period(from, to, true),
      previous ? this.period(previous.from, previous.to, false) : Promise.resolve(null),
      this.budgets.status(now),
    ]);
    return {
      range,
      from: from?.toISOString() ?? null,
      to: to.toISOString(),
      current,
      previous:
        previous && before
          ? { from: previous.from.toISOString(), to: previous.to.toISOString(), ...before }
          : null,
      change: before ? changes(current, before) : null,
      budget:
        budgets.length === 0
          ? null
          : {
              defined: budgets.length,
              exceeded: budgets.filter((b) => b.state === "exceeded").length,
              warning: budgets.filter((b) => b.state === "warning").length,
              budgets: budgets.map((b) => ({
                id: b.id,
                scope: b.scope,
                target: b.target,
                period: b.period,
                spentUsd: b.spentUsd,
                softLimitUsd: b.softLimitUsd,
                hardLimitUsd: b.hardLimitUsd,
                hardUsed: b.hardUsed,
                burnRate: b.burnRate,
                state: b.state,
              })),
            },
    };
  }

  /** One period `[from, to)`; from null means since the beginning. */
  private async period(from: Date | null, to: Date, withActive: boolean): Promise<Kpis> {
    return kpisOf(await kpiReadsStore.period(this.db, from, to), withActive);
  }
}

/**
 * The measures of one period's row: the figures' arithmetic, shared with the figure gauges
 * (daemon/telemetry/figure-gauges.ts) so Prometheus gets exactly what the API answers.
 */
export function kpisOf(row: KpiPeriodRow, withActive: boolean): Kpis {
  const input = Number(row.input_tokens);
  const output = Number(row.output_tokens);
  return {
    tasksCompleted: row.tasks_completed,
    tasksFailed: row.tasks_failed,
    tasksActive: withActive ? row.tasks_active : null,
    taskSuccessRate: successRatio(row.tasks_completed, row.tasks_failed),
    runsCompleted: row.runs_completed,
    runsFailed: row.runs_failed,
    runsActive: withActive ? row.runs_active : null,
    runSuccessRate: successRatio(row.runs_completed, row.runs_failed),
    costUsd: round8(Number(row.usd)),
    inputTokens: input,
    outputTokens: output,
    totalTokens: input + output,
    avgTaskDurationMs: row.task_ms === null ? null : Math.round(row.task_ms),
    avgRunDurationMs: row.run_ms === null ? null : Math.round(row.run_ms),
    feedbackCount: row.feedback_n,
    feedbackAvgScore: row.feedback_avg === null ? null : Math.round(row.feedback_avg * 1000) / 1000,
  };
}
