import type { EventBus } from "../events/event-bus.ts";
import type { Tx } from "../store/pg-pool.ts";
import {
  pipelineEvents,
  pipelineRuns,
  pipelineSteps,
  type RunRow,
  type StepRow,
} from "../store/pipeline-run-store.ts";
import type { TaskStore } from "../store/task-store.ts";
import type { TaskDefaults } from "../tasks/task-service.ts";
import { stepTaskTraceParent } from "../telemetry/trace-ids.ts";
import { traceSpans } from "../telemetry/tracing.ts";
import type { AfterCommit, RunBase } from "./after-commit.ts";
import type { StepDefinition } from "./template-types.ts";
import { ancestors } from "./template-validation.ts";

/** The parameters a step runs with: the template's, overridden by an operator's before it started. */
export function stepParams(def: StepDefinition, row: StepRow): Record<string, unknown> {
  return { ...(def.params ?? {}), ...(row.input_override ?? {}) };
}

/** Outputs of the steps this one depends on, directly or not (what it may build on). */
function upstream(
  def: StepDefinition,
  steps: StepDefinition[],
  rows: Map<string, StepRow>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const id of ancestors(steps, def.id)) {
    if (rows.get(id)?.state === "completed") out[id] = rows.get(id)?.output ?? null;
  }
  return out;
}

/**
 * How a pass moves one step or the run from one state to the next: start an agent step (its
 * task), settle a step that ended, skip one the plan skips, finish the run. Each writes the rows
 * and the timeline inside the pass's transaction and leaves dispatch, spans and bus events for
 * after the commit; each keeps the in-memory row in step with what it wrote.
 */
export class StepTransitions {
  constructor(
    private readonly taskStore: TaskStore,
    private readonly bus: EventBus,
    private readonly defaults: TaskDefaults,
    private readonly newId: () => string,
  ) {}

  /** Inserts the step generation's task (one per generation: a repeated pass finds the same task). */
  async startAgentStep(
    tx: Tx,
    run: RunRow,
    steps: StepDefinition[],
    def: StepDefinition,
    row: StepRow,
    rows: Map<string, StepRow>,
    after: AfterCommit,
    base: RunBase,
  ): Promise<void> {
    if (def.executor.kind !== "agent") return;
    const task = {
      id: this.newId(),
      type: def.executor.capability,
      payload: {
        pipeline: { runId: run.id, stepId: def.id, template: run.template, version: run.template_version },
        input: run.input,
        params: stepParams(def, row),
        upstream: upstream(def, steps, rows),
      },
      priority: run.priority,
      maxAttempts: def.retry?.maxAttempts ?? this.defaults.maxAttempts,
      timeoutMs: def.timeoutMs ?? this.defaults.timeoutMs,
      // One task per step generation: a pass repeated after a crash finds the same task.
      idempotencyKey: `pipeline:${run.id}:${def.id}:${row.generation}`,
      // Its attempts' spans hang under this step generation's span, in the run's trace.
      traceParent: stepTaskTraceParent(run.id, def.id, row.generation),
    };
    const inserted = await this.taskStore.insert(task, tx);
    if (inserted.created) after.inserted.push({ id: inserted.id, type: task.type, priority: task.priority });
    await pipelineSteps.update(tx, run.id, def.id, {
      state: "running",
      task_id: inserted.id,
      started_at: new Date(),
      finished_at: null,
      error: null,
    });
    row.state = "running";
    row.task_id = inserted.id;
    await pipelineEvents.append(tx, run.id, "step.started", def.id, {
      taskId: inserted.id,
      capability: task.type,
    });
    after.emit.push(() =>
      this.bus.emit("pipeline.step.started", { ...base, stepId: def.id, taskId: inserted.id }),
    );
  }

  /** Records a step's end (completed or failed), its span and its event. */
  async finishStep(
    tx: Tx,
    row: StepRow,
    outcome: "completed" | "failed",
    result: { output?: unknown; error?: unknown },
    durationMs: number,
    after: AfterCommit,
    base: RunBase,
  ): Promise<void> {
    const finishedAt = new Date();
    const agentId = row.last_agent_id ?? row.agent_id;
    await pipelineSteps.update(tx, row.run_id, row.step_id, {
      state: outcome,
      output: outcome === "completed" ? (result.output ?? null) : null,
      error: outcome === "failed" ? (result.error ?? { message: "step failed" }) : null,
      finished_at: finishedAt,
      // The column is an integer: a step that waited for weeks must not make every pass fail.
      duration_ms: Math.min(durationMs, 2_147_483_647),
      progress: outcome === "completed" ? 100 : row.progress,
      agent_id: agentId,
      // A built-in step's message ("waiting for an operator's budget approval") ends with it.
      ...(row.message !== null && !row.task_id ? { message: null } : {}),
    });
    if (!row.task_id) row.message = null;
    row.state = outcome;
    row.output = result.output;
    await pipelineEvents.append(tx, row.run_id, `step.${outcome}`, row.step_id, { durationMs });
    const stepId = row.step_id;
    const { generation, task_id: taskId } = row;
    const startedAt = row.started_at ?? new Date(finishedAt.getTime() - durationMs);
    const span = () =>
      traceSpans.stepEnded({
        ...base,
        stepId,
        generation,
        state: outcome,
        executor: taskId ? "agent" : "builtin",
        startedAt,
        finishedAt,
        taskId,
        agentId,
        error: result.error,
      });
    // The step's events are logged in its span's context (trace and span ids on the line).
    const inStep = (fn: () => void) => traceSpans.inStep(row.run_id, stepId, generation, fn);
    if (outcome === "completed") {
      after.emit.push(() => {
        span();
        inStep(() => this.bus.emit("pipeline.step.completed", { ...base, stepId, durationMs }));
      });
    } else {
      const reason = (result.error as { message?: string } | null)?.message ?? "step failed";
      after.emit.push(() => {
        span();
        inStep(() => this.bus.emit("pipeline.step.failed", { ...base, stepId, durationMs, reason }));
      });
    }
  }

  /** Skips a step whose condition does not hold (which counts as done for its dependants). */
  async skipStep(
    tx: Tx,
    row: StepRow,
    reason: string,
    executor: "agent" | "builtin",
    after: AfterCommit,
    base: RunBase,
  ): Promise<void> {
    const stepId = row.step_id;
    const finishedAt = new Date();
    await pipelineSteps.update(tx, base.runId, stepId, {
      state: "skipped",
      skip_reason: reason,
      finished_at: finishedAt,
    });
    row.state = "skipped";
    await pipelineEvents.append(tx, base.runId, "step.skipped", stepId, { reason });
    after.emit.push(() => {
      traceSpans.stepEnded({
        ...base,
        stepId,
        generation: row.generation,
        state: "skipped",
        executor,
        startedAt: null,
        finishedAt,
        skipReason: reason,
      });
      this.bus.emit("pipeline.step.skipped", { ...base, stepId, reason });
    });
  }

  /** Ends the run: completed (its output is every completed step's) or failed (which steps did). */
  async finishRun(
    tx: Tx,
    run: RunRow,
    state: "completed" | "failed",
    failedSteps: string[],
    rows: Map<string, StepRow>,
    after: AfterCommit,
  ): Promise<void> {
    const outputs: Record<string, unknown> = {};
    for (const r of rows.values()) if (r.state === "completed") outputs[r.step_id] = r.output;
    const finishedAt = new Date();
    const durationMs = finishedAt.getTime() - run.created_at.getTime();
    await pipelineRuns.update(tx, run.id, {
      state,
      percent: state === "completed" ? 100 : run.percent,
      current_step: null,
      message: null,
      finished_at: finishedAt,
      output: state === "completed" ? outputs : null,
      error:
        state === "failed" ? { message: `step(s) failed: ${failedSteps.join(", ")}`, failedSteps } : null,
    });
    await pipelineEvents.append(tx, run.id, `run.${state}`, null, { durationMs, failedSteps });
    const base = { runId: run.id, template: run.template, durationMs };
    after.emit.push(() => {
      traceSpans.runEnded({
        runId: run.id,
        template: run.template,
        version: run.template_version,
        state,
        priority: run.priority,
        createdAt: run.created_at,
        finishedAt,
        failedSteps,
      });
      traceSpans.inRun(run.id, () =>
        state === "completed"
          ? this.bus.emit("pipeline.run.completed", base)
          : this.bus.emit("pipeline.run.failed", { ...base, failedSteps }),
      );
    });
  }
}
