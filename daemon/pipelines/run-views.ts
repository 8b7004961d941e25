import type { Static } from "typebox";
import type {
  RunEvent,
  RunList as RunListSchema,
  RunSummary as RunSummarySchema,
  RunView as RunViewSchema,
  StepView as StepViewSchema,
} from "../../contract/schemas/pipelines.ts";
import { OverseerError } from "../errors/overseer-error.ts";
import type { Db } from "../store/pg-pool.ts";
import { pipelineRunReads, type RunListFilter } from "../store/pipeline-run-read-store.ts";
import {
  pipelineEvents,
  pipelineRuns,
  pipelineSteps,
  type RunEventRow,
  type RunRow,
  type StepRow,
} from "../store/pipeline-run-store.ts";
import type { PipelineEngine } from "./pipeline-engine.ts";
import { isTerminalRun } from "./run-plan.ts";
import { estimateEta, runEta, runPercent, type StepProgress } from "./run-progress.ts";
import type { StepExecutor } from "./template-types.ts";

export type RunSummary = Static<typeof RunSummarySchema>;
export type RunView = Static<typeof RunViewSchema>;
export type StepView = Static<typeof StepViewSchema>;
export type RunList = Static<typeof RunListSchema>;
export type { RunListFilter };

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** A run without its steps, as lists and operator actions answer it. */
export function runSummary(run: RunRow): RunSummary {
  return {
    id: run.id,
    template: run.template,
    templateVersion: run.template_version,
    state: run.state,
    percent: run.percent,
    priority: run.priority,
    escalated: run.escalated,
    input: run.input,
    output: run.output ?? null,
    error: run.error ?? null,
    scheduleId: run.schedule_id,
    snoozedUntil: iso(run.snoozed_until),
    createdAt: run.created_at.toISOString(),
    updatedAt: run.updated_at.toISOString(),
    finishedAt: iso(run.finished_at),
  };
}

function stepView(id: string, name: string, r: StepRow, executor: StepExecutor): StepView {
  return {
    id,
    name,
    executor,
    state: r.state,
    generation: r.generation,
    taskId: r.task_id,
    agentId: r.task_agent_id ?? r.last_agent_id ?? r.agent_id,
    attempts: r.task_attempts ?? (r.started_at ? 1 : 0),
    progress: r.state === "completed" ? 100 : (r.progress ?? null),
    message: r.message,
    inputOverride: r.input_override,
    output: r.output ?? null,
    error: r.error ?? null,
    skipReason: r.skip_reason,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    durationMs: r.duration_ms,
  };
}

const eventView = (e: RunEventRow): Static<typeof RunEvent> => ({
  id: Number(e.id),
  at: e.at.toISOString(),
  type: e.type,
  stepId: e.step_id,
  data: e.data,
});

/** Reads of runs as clients show them. */
export class RunViews {
  constructor(
    private readonly db: Db,
    private readonly engine: PipelineEngine,
    /** The clock elapsed times and ETAs are measured against (tests pin it). */
    private readonly now: () => number = Date.now,
  ) {}

  /** A run with state, percent, current step, elapsed, ETA, the step timeline and latest events. */
  async view(id: string): Promise<RunView> {
    const run = await pipelineRuns.get(this.db, id);
    if (!run) throw new OverseerError("OVS_ERR_RUN_NOT_FOUND", `no run ${id}`);
    const tpl = await this.engine.template(run);
    const steps = this.engine.ordered(tpl);
    const rows = new Map((await pipelineSteps.ofRun(this.db, id)).map((r) => [r.step_id, r]));
    const terminal = isTerminalRun(run.state);
    const now = this.now();
    const elapsedMs = (run.finished_at?.getTime() ?? now) - run.created_at.getTime();
    const progress = new Map<string, StepProgress>(
      [...rows.values()].map((r) => [r.step_id, { id: r.step_id, state: r.state, percent: r.progress }]),
    );
    const percent = run.state === "completed" ? 100 : runPercent(steps, progress, run.percent, false);
    const eta = runEta(
      { state: run.state, finishedAt: run.finished_at, snoozedUntil: run.snoozed_until },
      now,
      terminal
        ? null
        : estimateEta({
            steps,
            states: new Map(
              [...rows.values()].map((r) => [
                r.step_id,
                { state: r.state, elapsedMs: r.started_at ? now - r.started_at.getTime() : 0 },
              ]),
            ),
            history: await pipelineRunReads.stepHistory(this.db, run.template, run.template_version),
            elapsedMs,
            percent,
          }),
    );
    const current = steps.find((s) => rows.get(s.id)?.state === "running");
    const events = await pipelineEvents.latest(this.db, id, 200);
    return {
      ...runSummary(run),
      percent,
      elapsedMs,
      eta,
      currentStep: current
        ? { id: current.id, name: current.name, message: rows.get(current.id)?.message ?? null }
        : null,
      steps: steps.map((s) => stepView(s.id, s.name, rows.get(s.id) as StepRow, s.executor)),
      events: events.map(eventView),
    };
  }

  /** One page of runs, newest first. */
  async list(filter: RunListFilter): Promise<RunList> {
    const page = await pipelineRunReads.list(this.db, filter);
    return {
      total: page.total,
      limit: filter.limit,
      offset: filter.offset,
      runs: page.rows.map(runSummary),
    };
  }
}
