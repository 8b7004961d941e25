import { type Static, Type } from "typebox";
import { type FigureId, figureNote } from "../figures.ts";
import { BUDGET_PERIODS, BUDGET_SCOPES, BUDGET_STATES } from "./budgets.ts";
import { Uuid } from "./common.ts";

/** The headline KPIs (`GET /api/analytics/kpis`): a period ending now against the one before it. */

export const KPI_RANGES = ["7days", "30days", "90days", "all"] as const;
export type KpiRange = (typeof KPI_RANGES)[number];

export const KpiQuery = Type.Object({
  range: Type.Optional(
    Type.Union(
      KPI_RANGES.map((r) => Type.Literal(r)),
      { description: "default 30days" },
    ),
  ),
});

const Count = Type.Integer({ minimum: 0 });
// Each measure names its figure (contract/figures.ts): one definition whatever surface shows it.
const FigCount = (id: FigureId) => Type.Integer({ minimum: 0, description: figureNote(id) });
const NullableCount = (id: FigureId) =>
  Type.Union([Count, Type.Null()], { description: figureNote(id, "null in the previous period") });
const Rate = (id: FigureId) =>
  Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], { description: figureNote(id) });
const NullableMs = (id: FigureId) =>
  Type.Union([Type.Integer(), Type.Null()], { description: figureNote(id) });
const Time = Type.String({ format: "date-time" });

/** The measures of one period; the `*Active` ones are counts now, so only the current period has them. */
export const Kpis = Type.Object({
  tasksCompleted: FigCount("tasks_completed"),
  tasksFailed: FigCount("tasks_failed"),
  tasksActive: NullableCount("tasks_active"),
  taskSuccessRate: Rate("task_success_rate"),
  runsCompleted: FigCount("runs_completed"),
  runsFailed: FigCount("runs_failed"),
  runsActive: NullableCount("runs_active"),
  runSuccessRate: Rate("run_success_rate"),
  costUsd: Type.Number({ description: figureNote("cost_usd") }),
  inputTokens: Count,
  outputTokens: Count,
  totalTokens: FigCount("total_tokens"),
  avgTaskDurationMs: NullableMs("avg_task_duration"),
  avgRunDurationMs: NullableMs("avg_run_duration"),
  /** Ratings recorded in the period (runs, steps and calls) and their mean score (1..5). */
  feedbackCount: Count,
  feedbackAvgScore: Type.Union([Type.Number(), Type.Null()]),
});
export type Kpis = Static<typeof Kpis>;

/** The KPIs compared with the previous period (all but the `*Active` snapshots). */
export const KPI_COMPARED = [
  "tasksCompleted",
  "tasksFailed",
  "taskSuccessRate",
  "runsCompleted",
  "runsFailed",
  "runSuccessRate",
  "costUsd",
  "inputTokens",
  "outputTokens",
  "totalTokens",
  "avgTaskDurationMs",
  "avgRunDurationMs",
  "feedbackCount",
  "feedbackAvgScore",
] as const satisfies ReadonlyArray<keyof Kpis>;
export type ComparedKpi = (typeof KPI_COMPARED)[number];

export const KpiChange = Type.Object({
  absolute: Type.Union([Type.Number(), Type.Null()]),
  relative: Type.Union([Type.Number(), Type.Null()], {
    description: "null when the previous value is 0 or either value is null",
  }),
});
export type KpiChange = Static<typeof KpiChange>;
export const KpiChanges = Type.Record(Type.Enum(KPI_COMPARED), KpiChange);
export type KpiChanges = Static<typeof KpiChanges>;

/** Spend against the budgets defined now. */
export const KpiBudget = Type.Object({
  defined: Count,
  exceeded: Count,
  warning: Count,
  budgets: Type.Array(
    Type.Object({
      id: Uuid,
      scope: Type.Enum(BUDGET_SCOPES),
      target: Type.String(),
      period: Type.Enum(BUDGET_PERIODS),
      spentUsd: Type.Number(),
      softLimitUsd: Type.Union([Type.Number(), Type.Null()]),
      hardLimitUsd: Type.Union([Type.Number(), Type.Null()]),
      hardUsed: Type.Union([Type.Number(), Type.Null()]),
      burnRate: Type.Number(),
      state: Type.Enum(BUDGET_STATES),
    }),
  ),
});

export const KpiReply = Type.Object({
  range: Type.Enum(KPI_RANGES),
  from: Type.Union([Time, Type.Null()], { description: "null for range all" }),
  to: Time,
  current: Kpis,
  previous: Type.Union([Type.Object({ from: Time, to: Time, ...Kpis.properties }), Type.Null()], {
    description: "the period of the same length before; null for range all",
  }),
  change: Type.Union([KpiChanges, Type.Null()], { description: "current minus previous, per KPI" }),
  budget: Type.Union([KpiBudget, Type.Null()], { description: "null while no budget is defined" }),
});
export type KpiReply = Static<typeof KpiReply>;
