import type { BudgetStatus } from "../budgets/budget-decision.ts";
import type { Db } from "../store/pg-pool.ts";

export const KPI_RANGES = ["7days", "30days", "90days", "all"] as const;
export type KpiRange = (typeof KPI_RANGES)[number];

const DAYS: Record<Exclude<KpiRange, "all">, number> = { "7days": 7, "30days": 30, "90days": 90 };
const DAY_MS = 86_400_000;

/** The measures of one period; the `*Active` ones are counts now, so only the current period has them. */
export interface Kpis {
  tasksCompleted: number;
  tasksFailed: number;
  tasksActive: number | null;
  taskSuccessRate: number | null;
  runsCompleted: number;
  runsFailed: number;
  runsActive: number | null;
  runSuccessRate: number | null;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  avgTaskDurationMs: number | null;
  avgRunDurationMs: number | null;
  /** Ratings recorded in the period (runs, steps and calls) and their mean score (1..5). */
  feedbackCount: number;
  feedbackAvgScore: number | null;
}

/** The KPIs compared with the previous period (all but the `*Active` snapshots). */
const COMPARED = [
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
] as const;

export interface Change {
  absolute: number | null;
  relative: number | null;
}

const round8 = (n: number) => Math.round(n * 1e8) / 1e8;
const rate = (completed: number, failed: number) =>
  completed + failed > 0 ? completed / (completed + failed) : null;

/** Absolute and relative change; relative is null when the previous value is 0 or either is null. */
export function change(current: number | null, previous: number | null): Change {
  if (current === null || previous === null) return { absolute: null, relative: null };
  return {
    absolute: round8(current - previous),
    relative: previous === 0 ? null : (current - previous) / previous,
  };
}

/** Spend against the budgets defined now (BudgetService.status). */
export interface BudgetStatusReads {
  status(now: Date): Promise<BudgetStatus[]>;
}

/**
 * The headline KPIs for a range ending now, and the same measures over the previous period of the
 * same length. Computed from Postgres at request time; an empty system answers zeros and nulls.
 * `budget` is null while no budget is defined: never a made-up limit.
 */
export class KpiReads {
  constructor(
    private readonly db: Db,
    private readonly budgets: BudgetStatusReads,
  ) {}

  async kpis(range: KpiRange, now = new Date()) {
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
      change: before ? Object.fromEntries(COMPARED.map((k) => [k, change(current[k], before[k])])) : null,
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
    const r = await this.db.query<{
      tasks_completed: number;
      tasks_failed: number;
      tasks_active: number;
      runs_completed: number;
      runs_failed: number;
      runs_active: number;
      usd: string;
      input_tokens: string;
      output_tokens: string;
      task_ms: number | null;
      run_ms: number | null;
      feedback_n: number;
      feedback_avg: number | null;
    }>(
      `WITH t AS (
         SELECT count(*) FILTER (WHERE state = 'completed')::int AS completed,
                count(*) FILTER (WHERE state IN ('failed', 'dead'))::int AS failed
         FROM tasks WHERE finished_at < $2 AND ($1::timestamptz IS NULL OR finished_at >= $1)
       ), r AS (
         SELECT count(*) FILTER (WHERE state = 'completed')::int AS completed,
                count(*) FILTER (WHERE state = 'failed')::int AS failed,
                (avg(EXTRACT(EPOCH FROM (finished_at - created_at)) * 1000) FILTER (WHERE state = 'completed'))::float8 AS ms
         FROM pipeline_runs WHERE finished_at < $2 AND ($1::timestamptz IS NULL OR finished_at >= $1)
       ), c AS (
         SELECT round(coalesce(sum(cost_usd), 0), 8)::text AS usd,
                coalesce(sum(input_tokens), 0)::text AS input_tokens,
                coalesce(sum(output_tokens), 0)::text AS output_tokens
         FROM llm_calls WHERE at < $2 AND ($1::timestamptz IS NULL OR at >= $1)
       ), f AS (
         SELECT count(*)::int AS n, avg(score)::float8 AS avg
         FROM feedback WHERE at < $2 AND ($1::timestamptz IS NULL OR at >= $1)
       ), a AS (
         SELECT avg(EXTRACT(EPOCH FROM (finished_at - claimed_at)) * 1000)::float8 AS ms
         FROM task_attempts WHERE outcome = 'completed' AND finished_at < $2
           AND ($1::timestamptz IS NULL OR finished_at >= $1)
       )
       SELECT t.completed AS tasks_completed, t.failed AS tasks_failed,
              (SELECT count(*)::int FROM tasks WHERE state IN ('queued', 'active')) AS tasks_active,
              r.completed AS runs_completed, r.failed AS runs_failed,
              (SELECT count(*)::int FROM pipeline_runs WHERE state IN ('running', 'paused', 'snoozed')) AS runs_active,
              c.usd, c.input_tokens, c.output_tokens, a.ms AS task_ms, r.ms AS run_ms,
              f.n AS feedback_n, f.avg AS feedback_avg
       FROM t, r, c, a, f`,
      [from, to],
    );
    const row = r.rows[0];
    if (!row) throw new Error("KPI query returned no row");
    const input = Number(row.input_tokens);
    const output = Number(row.output_tokens);
    return {
      tasksCompleted: row.tasks_completed,
      tasksFailed: row.tasks_failed,
      tasksActive: withActive ? row.tasks_active : null,
      taskSuccessRate: rate(row.tasks_completed, row.tasks_failed),
      runsCompleted: row.runs_completed,
      runsFailed: row.runs_failed,
      runsActive: withActive ? row.runs_active : null,
      runSuccessRate: rate(row.runs_completed, row.runs_failed),
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
}
