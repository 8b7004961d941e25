import { randomUUID } from "node:crypto";
import type { EventBus } from "../events/event-bus.ts";
import { type Db, type Tx, withTransaction } from "../store/pg-pool.ts";
import {
  pipelineEvents,
  pipelineRuns,
  pipelineSteps,
  type RunRow,
  type StepRow,
} from "../store/pipeline-run-store.ts";
import type { PipelineTemplateStore } from "../store/pipeline-template-store.ts";
import type { TaskStore } from "../store/task-store.ts";
import type { TaskDispatch } from "../tasks/task-dispatch.ts";
import type { TaskDefaults } from "../tasks/task-service.ts";
import { type AfterCommit, newAfterCommit } from "./after-commit.ts";
import { type BudgetInputs, BuiltinStepRunner } from "./builtin-step-runner.ts";
import { isTerminalRun, planRun, type StepStatus } from "./run-plan.ts";
import { runPercent, type StepProgress } from "./run-progress.ts";
import { StepTransitions } from "./step-transitions.ts";
import type { StepDefinition, StoredTemplate } from "./template-types.ts";
import { topologicalOrder } from "./template-validation.ts";

export type { BudgetInputs } from "./builtin-step-runner.ts";

/** How often a replica decides again on a built-in step that waits (for a budget approval). */
const WAITING_RECHECK_MS = 5_000;

/**
 * Moves runs forward. `advance` is level-triggered and idempotent: it reads the run, its steps and
 * their tasks under the run's row lock, settles finished steps, starts what the plan says, and
 * records percent and current step, all in one transaction. Any replica may call it at any time.
 * How each step starts and ends is StepTransitions' (agent steps) and BuiltinStepRunner's.
 */
export class PipelineEngine {
  private readonly transitions: StepTransitions;
  private readonly builtins: BuiltinStepRunner;

  constructor(
    private readonly db: Db,
    private readonly templates: PipelineTemplateStore,
    taskStore: TaskStore,
    private readonly dispatcher: TaskDispatch,
    private readonly bus: EventBus,
    defaults: TaskDefaults,
    budgets: BudgetInputs,
    newId: () => string = randomUUID,
  ) {
    this.transitions = new StepTransitions(taskStore, bus, defaults, newId);
    this.builtins = new BuiltinStepRunner(this.transitions, bus, budgets, newId);
  }

  /** When a waiting step was last decided on here, by run, step and generation. */
  private readonly waitingChecked = new Map<string, number>();

  /** An operator decided on a waiting step: the next pass decides at once. */
  forgetWaiting(runId: string, stepId: string, generation: number): void {
    this.waitingChecked.delete(`${runId}:${stepId}:${generation}`);
  }

  async advance(runId: string): Promise<void> {
    const after = newAfterCommit();
    await withTransaction(this.db, (tx) => this.advanceIn(tx, runId, after));
    await this.flush(after);
  }

  /** What follows a commit: dispatch first (cancel, enqueue, re-prioritise), then events. */
  async flush(after: AfterCommit): Promise<void> {
    if (after.cancelled.length > 0) await this.dispatcher.afterCancel(after.cancelled);
    if (after.inserted.length > 0) await this.dispatcher.afterInsert(after.inserted);
    if (after.reprioritized.length > 0) await this.dispatcher.reprioritize(after.reprioritized);
    for (const emit of after.emit) emit();
  }

  async template(run: Pick<RunRow, "template" | "template_version">): Promise<StoredTemplate> {
    const t = await this.templates.version(run.template, run.template_version);
    if (!t) throw new Error(`template ${run.template}@${run.template_version} is missing`);
    return t;
  }

  /** The template's steps in a topological order (the order every pass walks them). */
  ordered(t: StoredTemplate): StepDefinition[] {
    return topologicalOrder(t.definition.steps) ?? t.definition.steps;
  }

  /**
   * Stores the run's percent as it stands (never lower than before). Called before an operator
   * action changes step states, so what a client was shown stays the floor afterwards.
   */
  async notePercent(tx: Tx, run: RunRow, rows: StepRow[]): Promise<void> {
    if (isTerminalRun(run.state)) return;
    const steps = this.ordered(await this.template(run));
    const progress = new Map<string, StepProgress>(
      rows.map((r) => [r.step_id, { id: r.step_id, state: r.state, percent: r.progress }]),
    );
    const percent = runPercent(steps, progress, run.percent, false);
    if (percent !== run.percent) {
      await pipelineRuns.update(tx, run.id, { percent });
      run.percent = percent;
    }
  }

  /** One pass over a run inside the caller's transaction (which holds or takes the run's lock). */
  async advanceIn(tx: Tx, runId: string, after: AfterCommit): Promise<void> {
    const run = await pipelineRuns.lock(tx, runId);
    if (!run || isTerminalRun(run.state)) return;
    const tpl = await this.template(run);
    const steps = this.ordered(tpl);
    const byId = new Map(steps.map((s) => [s.id, s]));
    const rows = new Map((await pipelineSteps.ofRun(tx, runId)).map((r) => [r.step_id, r]));
    const base = { runId, template: run.template };

    let state = run.state;
    if (state === "snoozed" && run.snoozed_until && run.snoozed_until.getTime() <= Date.now()) {
      state = "running";
      await pipelineRuns.update(tx, runId, { state, snoozed_until: null });
      await pipelineEvents.append(tx, runId, "run.resumed", null, { reason: "snooze ended" });
      after.emit.push(() => this.bus.emit("pipeline.run.resumed", base));
    }

    // 1. Settle agent steps whose task has ended.
    for (const row of rows.values()) {
      if (row.state !== "running" || !row.task_id) continue;
      const durationMs = row.started_at ? Date.now() - row.started_at.getTime() : 0;
      if (row.task_state === "completed") {
        await this.transitions.finishStep(
          tx,
          row,
          "completed",
          { output: row.task_result },
          durationMs,
          after,
          base,
        );
      } else if (row.task_state === "failed" || row.task_state === "dead" || row.task_state === "cancelled") {
        await this.transitions.finishStep(
          tx,
          row,
          "failed",
          { error: row.task_error },
          durationMs,
          after,
          base,
        );
      } else if (row.task_agent_id && row.task_agent_id !== row.agent_id) {
        // Step progress itself is written by PipelineService.noteProgress, without a full pass.
        await pipelineSteps.update(tx, runId, row.step_id, { agent_id: row.task_agent_id });
        row.agent_id = row.task_agent_id;
      }
    }

    // A built-in step left running is waiting (for a budget approval): decide again, level-triggered,
    // so an approval, a raised limit or a new period lets it through without anyone poking it.
    if (state === "running") {
      for (const row of rows.values()) {
        const def = byId.get(row.step_id);
        if (row.state !== "running" || row.task_id || def?.executor.kind !== "builtin") continue;
        // Each sweep would decide again; once every few seconds per replica is enough (an operator's
        // decision clears this, so it takes effect on the action's own pass).
        const key = `${runId}:${row.step_id}:${row.generation}`;
        const last = this.waitingChecked.get(key);
        if (last !== undefined && Date.now() - last < WAITING_RECHECK_MS) continue;
        await this.builtins.run(tx, run, steps, def, row, rows, after, base);
        if (this.waitingChecked.size >= 10_000) this.waitingChecked.clear();
        if (row.state === "running") this.waitingChecked.set(key, Date.now());
        else this.waitingChecked.delete(key);
      }
    }

    // 2. Start what the plan allows; built-in steps finish inline, which may unblock more.
    for (let pass = 0; pass <= steps.length; pass++) {
      const status = new Map<string, StepStatus>(
        [...rows.values()].map((r) => [r.step_id, { id: r.step_id, state: r.state, output: r.output }]),
      );
      const plan = planRun(steps, status, state);
      for (const skip of plan.skip) {
        const executor = byId.get(skip.id)?.executor.kind ?? "agent";
        await this.transitions.skipStep(tx, rows.get(skip.id) as StepRow, skip.reason, executor, after, base);
      }
      let inline = false;
      for (const id of plan.start) {
        const def = byId.get(id) as StepDefinition;
        const row = rows.get(id) as StepRow;
        if (def.executor.kind === "builtin") {
          inline = true;
          await this.builtins.run(tx, run, steps, def, row, rows, after, base);
        } else {
          await this.transitions.startAgentStep(tx, run, steps, def, row, rows, after, base);
        }
      }
      if (plan.finish && plan.start.length === 0 && plan.skip.length === 0) {
        await this.transitions.finishRun(tx, run, plan.finish.state, plan.finish.failedSteps, rows, after);
        return;
      }
      if (!inline && plan.skip.length === 0) break;
    }

    // 3. Progress and the current step.
    const progress = new Map<string, StepProgress>(
      [...rows.values()].map((r) => [r.step_id, { id: r.step_id, state: r.state, percent: r.progress }]),
    );
    const percent = runPercent(steps, progress, run.percent, false);
    const current = steps.find((s) => rows.get(s.id)?.state === "running");
    const currentRow = current ? rows.get(current.id) : undefined;
    // Written even when unchanged: the write moves updated_at, which sends the run to the back of
    // the sweep's queue, so runs that wait cannot hold its front.
    await pipelineRuns.update(tx, runId, {
      percent,
      current_step: current?.id ?? null,
      message: currentRow?.message ?? null,
    });
    if (percent !== run.percent) {
      after.emit.push(() => this.bus.emit("pipeline.run.progress", { ...base, percent }));
    }
  }
}
