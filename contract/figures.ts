/**
 * The registry of figures (docs/figures.md is generated from it: `npm run figures:doc`): every
 * number a user reads as a success rate, a count, a cost or a duration, with what counts in its
 * numerator and denominator and over which window. The API's stores build their WHERE clauses from
 * the state sets here, the figure gauges export the same values to Prometheus, the dashboards take
 * their PromQL and titles from here and the CLI its labels, so one figure has one definition
 * whatever shows it. Pure data (and two pure helpers): the contract imports nothing of ours.
 */

/** Terminal task states: a success, a failure, or neither (cancelled: nobody's outcome). */
export const TASK_OUTCOMES = {
  succeeded: ["completed"],
  failed: ["failed", "dead"],
  excluded: ["cancelled"],
  /** Unfinished now. */
  unfinished: ["queued", "active"],
} as const;

/** Terminal run states; a cancelled run is an operator's decision, not a failure. */
export const RUN_OUTCOMES = {
  succeeded: ["completed"],
  failed: ["failed"],
  excluded: ["cancelled"],
  unfinished: ["running", "paused", "snoozed"],
} as const;

/** Attempt outcomes; released and cancelled attempts are nobody's fault and count as neither. */
export const ATTEMPT_RESULTS = {
  succeeded: ["completed"],
  failed: ["failed", "timed_out", "lost"],
  excluded: ["released", "cancelled"],
} as const;

/** succeeded / (succeeded + failed), or null when nothing succeeded or failed: never a made-up 0 or 1. */
export function successRatio(succeeded: number, failed: number): number | null {
  return succeeded + failed > 0 ? succeeded / (succeeded + failed) : null;
}

/** The windows the figure gauges export (label `window`), in milliseconds. */
export const FIGURE_WINDOWS = {
  "5m": 300_000,
  "1h": 3_600_000,
  "24h": 86_400_000,
  "7d": 604_800_000,
} as const;
export type FigureWindow = keyof typeof FIGURE_WINDOWS;

export type FigureUnit = "ratio" | "count" | "usd" | "tokens" | "ms";

/** A gauge of daemon/telemetry/figure-gauges.ts, read from Postgres at scrape time, label `window`. */
export interface FigureMetric {
  /** Base units: seconds for durations. */
  name: string;
  help: string;
  /** metric value = API value × scale (milliseconds to seconds). */
  scale: number;
  /** The windows exported (FIGURE_WINDOWS' keys). */
  windows: readonly FigureWindow[];
}

export interface Figure {
  id: string;
  /** The label people read: panel titles, CLI text. */
  name: string;
  unit: FigureUnit;
  /** What one row is: a task, a run, an attempt, an LLM call, an agent. */
  of: "task" | "run" | "attempt" | "llm_call" | "agent";
  /** What counts: the numerator of a ratio, or what a count, sum or mean is taken over. */
  counts: string;
  /** A ratio's denominator. */
  over?: string;
  /** What is left out entirely. */
  excluded?: string;
  /** The rows' window: which time column, over which period. */
  window: string;
  /** When the figure is null instead of a number. */
  whenNull?: string;
  /** Where the API answers it: `GET route → field`. */
  api: readonly string[];
  /** Its measure in the KPI answer (`current.<kpi>`), when the KPI route carries it. */
  kpi?: string;
  /** The figure gauge carrying it; absent when an existing metric does (see promql). */
  metric?: FigureMetric;
  /** What a panel queries for it (the 7-day window where there is one); absent: no metric carries it. */
  promql?: string;
  /** Which WebSocket feed's snapshot carries it, and where. */
  ws?: string;
  /** The `overseer` command that shows it. */
  cli?: string;
}

const W7 = '{window="7d"}';
const KPI = "GET /api/analytics/kpis";
// Every replica exports the same values (shared state read at scrape time): max, never sum.
const gauge = (name: string, help: string, scale = 1, windows: readonly FigureWindow[] = ["7d"]) => ({
  metric: { name, help, scale, windows },
  promql: `max(${name}${W7})`,
});
const KPI_WINDOW =
  "finished in the KPI range [from, to) (7, 30 or 90 days back from now, or all); the metric: the last 7 days";

export const FIGURES = {
  task_success_rate: {
    id: "task_success_rate",
    name: "Task success rate",
    unit: "ratio",
    of: "task",
    counts: "tasks that ended `completed`",
    over: "tasks that ended `completed`, `failed` or `dead` (a task, however many attempts it took, counts once)",
    excluded: "cancelled tasks",
    window: KPI_WINDOW,
    whenNull: "no task completed, failed or died in the window",
    kpi: "taskSuccessRate",
    api: [`${KPI} → current.taskSuccessRate`],
    ...gauge("overseer_figure_task_success_ratio", "Task success rate (figure task_success_rate)"),
    cli: "overseer kpis",
  },
  run_success_rate: {
    id: "run_success_rate",
    name: "Run success rate",
    unit: "ratio",
    of: "run",
    counts: "pipeline runs that ended `completed`",
    over: "runs that ended `completed` or `failed`",
    excluded: "cancelled runs",
    window: `${KPI_WINDOW}; workflow statistics: runs created in [from, to), by template`,
    whenNull: "no run completed or failed",
    kpi: "runSuccessRate",
    api: [`${KPI} → current.runSuccessRate`, "GET /api/workflow/statistics → templates[].successRate"],
    ...gauge("overseer_figure_run_success_ratio", "Pipeline run success rate (figure run_success_rate)"),
    cli: "overseer kpis",
  },
  attempt_success_rate: {
    id: "attempt_success_rate",
    name: "Attempt success rate",
    unit: "ratio",
    of: "attempt",
    counts: "task attempts (leases) that ended `completed`",
    over: "attempts that ended `completed`, `failed`, `timed_out` or `lost` (a task retried twice counts three times)",
    excluded: "`released` and `cancelled` attempts",
    window: "finished in the last 5 minutes (`live`), 1 h, 24 h or 7 d (label `window`: 5m, 1h, 24h, 7d)",
    whenNull: "no attempt ended in the window",
    api: [
      "GET /api/dashboard/coordination/success-rate → live.rate, windows.{1h,24h,7d}.rate, hourly[].rate",
    ],
    ...gauge(
      "overseer_figure_attempt_success_ratio",
      "Task attempt success rate (figure attempt_success_rate)",
      1,
      ["5m", "1h", "24h", "7d"],
    ),
    cli: "overseer success-rate",
  },
  tasks_completed: {
    id: "tasks_completed",
    name: "Tasks completed",
    unit: "count",
    of: "task",
    counts: "tasks that ended `completed`",
    window: KPI_WINDOW,
    kpi: "tasksCompleted",
    api: [`${KPI} → current.tasksCompleted`],
    ...gauge("overseer_figure_tasks_completed", "Tasks completed in the window (figure tasks_completed)"),
    cli: "overseer kpis",
  },
  tasks_failed: {
    id: "tasks_failed",
    name: "Tasks failed",
    unit: "count",
    of: "task",
    counts: "tasks that ended `failed` or `dead`",
    excluded: "cancelled tasks",
    window: KPI_WINDOW,
    kpi: "tasksFailed",
    api: [`${KPI} → current.tasksFailed`],
    ...gauge(
      "overseer_figure_tasks_failed",
      "Tasks failed or dead-lettered in the window (figure tasks_failed)",
    ),
    cli: "overseer kpis",
  },
  tasks_active: {
    id: "tasks_active",
    name: "Tasks unfinished",
    unit: "count",
    of: "task",
    counts: "tasks `queued` (ready or delayed) or `active` now",
    window: "now",
    kpi: "tasksActive",
    api: [`${KPI} → current.tasksActive`, "GET /api/dashboard/tasks/queue → totals.ready + delayed + active"],
    promql: 'sum(max by (type, state) (overseer_queue_depth{state=~"ready|delayed|active"}))',
    ws: "tasks (and dashboard): tasks.totals.ready + delayed + active",
    cli: "overseer kpis",
  },
  runs_completed: {
    id: "runs_completed",
    name: "Runs completed",
    unit: "count",
    of: "run",
    counts: "pipeline runs that ended `completed`",
    window: KPI_WINDOW,
    kpi: "runsCompleted",
    api: [`${KPI} → current.runsCompleted`],
    ...gauge(
      "overseer_figure_runs_completed",
      "Pipeline runs completed in the window (figure runs_completed)",
    ),
    cli: "overseer kpis",
  },
  runs_failed: {
    id: "runs_failed",
    name: "Runs failed",
    unit: "count",
    of: "run",
    counts: "pipeline runs that ended `failed`",
    excluded: "cancelled runs",
    window: KPI_WINDOW,
    kpi: "runsFailed",
    api: [`${KPI} → current.runsFailed`],
    ...gauge("overseer_figure_runs_failed", "Pipeline runs failed in the window (figure runs_failed)"),
    cli: "overseer kpis",
  },
  runs_active: {
    id: "runs_active",
    name: "Runs unfinished",
    unit: "count",
    of: "run",
    counts: "pipeline runs `running`, `paused` or `snoozed` now",
    window: "now",
    kpi: "runsActive",
    api: [`${KPI} → current.runsActive`],
    promql: "sum(max by (template, state) (overseer_pipeline_runs))",
    cli: "overseer kpis",
  },
  cost_usd: {
    id: "cost_usd",
    name: "LLM cost",
    unit: "usd",
    of: "llm_call",
    counts: "the reported `costUsd` of LLM calls (rounded to 8 decimals)",
    window:
      "calls made (`at`) in the KPI range, or in [from, to) on the cost routes; the metric: the last 7 days",
    kpi: "costUsd",
    api: [
      `${KPI} → current.costUsd`,
      "GET /api/metrics/costs?from=&to= → totalUsd (and by role, model, phase, hour)",
    ],
    ...gauge("overseer_figure_cost_usd", "LLM cost in USD of calls made in the window (figure cost_usd)"),
    cli: "overseer kpis",
  },
  total_tokens: {
    id: "total_tokens",
    name: "LLM tokens",
    unit: "tokens",
    of: "llm_call",
    counts: "input + output tokens of LLM calls",
    window: "calls made (`at`) in the KPI range; the metric: the last 7 days",
    kpi: "totalTokens",
    api: [`${KPI} → current.totalTokens`, "GET /api/metrics/costs?from=&to= → inputTokens + outputTokens"],
    ...gauge(
      "overseer_figure_tokens",
      "LLM tokens (input + output) of calls made in the window (figure total_tokens)",
    ),
    cli: "overseer kpis",
  },
  avg_task_duration: {
    id: "avg_task_duration",
    name: "Mean task duration",
    unit: "ms",
    of: "attempt",
    counts: "claim to finish of attempts that ended `completed` (the successful attempt, not the retries)",
    window: KPI_WINDOW,
    whenNull: "no attempt completed in the window",
    kpi: "avgTaskDurationMs",
    api: [`${KPI} → current.avgTaskDurationMs`],
    ...gauge(
      "overseer_figure_task_duration_avg_seconds",
      "Mean claim-to-finish seconds of completed attempts in the window (figure avg_task_duration)",
      0.001,
    ),
    cli: "overseer kpis",
  },
  avg_run_duration: {
    id: "avg_run_duration",
    name: "Mean run duration",
    unit: "ms",
    of: "run",
    counts: "creation to finish of runs that ended `completed`",
    window: KPI_WINDOW,
    whenNull: "no run completed in the window",
    kpi: "avgRunDurationMs",
    api: [`${KPI} → current.avgRunDurationMs`],
    ...gauge(
      "overseer_figure_run_duration_avg_seconds",
      "Mean creation-to-finish seconds of completed pipeline runs in the window (figure avg_run_duration)",
      0.001,
    ),
    cli: "overseer kpis",
  },
  agents_by_state: {
    id: "agents_by_state",
    name: "Agents by state",
    unit: "count",
    of: "agent",
    counts:
      "registered agents in each lifecycle state (`active`, `stale`, `draining`; ended ones when asked)",
    window: "now",
    api: ["GET /api/dashboard/agents/status → byState"],
    promql: "sum by (state) (max by (state, role) (overseer_agents))",
    ws: "agents (and dashboard): agents.byState",
  },
} as const satisfies Record<string, Figure>;

export type FigureId = keyof typeof FIGURES;

/** A schema field's description naming its figure (the OpenAPI document shows it). */
export function figureNote(id: FigureId, detail?: string): string {
  const f: Figure = FIGURES[id];
  const def = f.over ? `${f.counts} / ${f.over}` : f.counts;
  return `figure: ${id} (docs/figures.md): ${def}${f.excluded ? `; excludes ${f.excluded}` : ""}${
    f.whenNull ? `; null when ${f.whenNull}` : ""
  }${detail ? `; ${detail}` : ""}`;
}
