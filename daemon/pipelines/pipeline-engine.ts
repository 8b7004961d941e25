import { randomUUID } from "node:crypto";
import type pg from "pg";
import { type BudgetStepInput, type BudgetVerdict, decideBudgetStep } from "../budgets/budget-decision.ts";
import type { EventBus } from "../events/event-bus.ts";
import { type Db, withTransaction } from "../store/pg-pool.ts";
import type { CancelledTask, TaskStore } from "../store/task-store.ts";
import type { TaskDispatch } from "../tasks/task-dispatch.ts";
import type { TaskDefaults } from "../tasks/task-service.ts";
import { stepTaskTraceParent } from "../telemetry/trace-ids.ts";
import { traceSpans } from "../telemetry/tracing.ts";
import { type BuiltinResult, runBuiltin } from "./builtin-steps.ts";
import { isTerminalRun, planRun, type StepStatus } from "./run-plan.ts";
import { runPercent, type StepProgress } from "./run-progress.ts";
import { type RunRow, runSql, type StepRow } from "./run-store.ts";
import type { TemplateStore } from "./template-store.ts";
import type { StepDefinition, StoredTemplate } from "./template-types.ts";
import { ancestors, topologicalOrder } from "./template-validation.ts";

/** Work to do once the transaction has committed (queueing, agent commands, bus events). */
export interface AfterCommit {
  inserted: Array<{ id: string; type: string; priority: number }>;
  cancelled: CancelledTask[];
  reprioritized: Array<{ id: string; type: string; priority: number }>;
  emit: Array<() => void>;
}

/** Reads what a mission's budget step decides on (BudgetService.stepInput). */
export interface BudgetInputs {
  stepInput(
    q: pg.PoolClient,
    run: { id: string; template: string; input: Record<string, unknown> },
    step: { stepId: string; generation: number },
    capabilities: string[],
    now: Date,
  ): Promise<BudgetStepInput>;
  /** Opens a step generation's approval request; true only the first time. */
  requestApproval(
    q: pg.PoolClient,
    key: { runId: string; stepId: string; generation: number },
    reason: unknown,
  ): Promise<boolean>;
}

/** How often a replica decides again on a built-in step that waits (for a budget approval). */
const WAITING_RECHECK_MS = 5_000;

export const newAfterCommit = (): AfterCommit => ({
  inserted: [],
  cancelled: [],
  reprioritized: [],
  emit: [],
});

/**
 * Moves runs forward. `advance` is level-triggered and idempotent: it reads the run, its steps and
 * their tasks under the run's row lock, settles finished steps, starts what the plan says, and
 * records percent and current step, all in one transaction. Any replica may call it at any time.
 */
export class PipelineEngine {
  constructor(
    private readonly db: Db,
    private readonly templates: TemplateStore,
    private readonly taskStore: TaskStore,
    private readonly dispatcher: TaskDispatch,
    private readonly bus: EventBus,
    private readonly defaults: TaskDefaults,
    private readonly budgets: BudgetInputs,
    private readonly newId: () => string = randomUUID,
  ) {}

  /** When a waiting step was last decided on here, by run, step and generation. */
  private readonly waitingChecked = new Map<string, number>();

  /** An operator decided on a waiting step: the next pass decides at once. */
  forgetWaiting(runId: string, stepId: string, generation: number): void {
    this.waitingChecked.delete(`${runId}:${stepId}:${generation}`);
  }

  async advance(runId: string): Promise<void> {
    const after = newAfterCommit();
    await withTransaction(this.db, (c) => this.advanceIn(c, runId, after));
    await this.flush(after);
  }

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
  async notePercent(c: pg.PoolClient, run: RunRow, rows: StepRow[]): Promise<void> {
    if (isTerminalRun(run.state)) return;
    const steps = this.ordered(await this.template(run));
    const progress = new Map<string, StepProgress>(
      rows.map((r) => [r.step_id, { id: r.step_id, state: r.state, percent: r.progress }]),
    );
    const percent = runPercent(steps, progress, run.percent, false);
    if (percent !== run.percent) {
      await runSql.updateRun(c, run.id, { percent });
      run.percent = percent;
    }
  }

  /** One pass over a run inside the caller's transaction (which holds or takes the run's lock). */
  async advanceIn(c: pg.PoolClient, runId: string, after: AfterCommit): Promise<void> {
    const run = await runSql.lock(c, runId);
    if (!run || isTerminalRun(run.state)) return;
    const tpl = await this.template(run);
    const steps = this.ordered(tpl);
    const byId = new Map(steps.map((s) => [s.id, s]));
    const rows = new Map((await runSql.steps(c, runId)).map((r) => [r.step_id, r]));
    const base = { runId, template: run.template };

    let state = run.state;
    if (state === "snoozed" && run.snoozed_until && run.snoozed_until.getTime() <= Date.now()) {
      state = "running";
      await runSql.updateRun(c, runId, { state, snoozed_until: null });
      await runSql.event(c, runId, "run.resumed", null, { reason: "snooze ended" });
      after.emit.push(() => this.bus.emit("pipeline.run.resumed", base));
    }

    // 1. Settle agent steps whose task has ended.
    for (const row of rows.values()) {
      if (row.state !== "running" || !row.task_id) continue;
      const durationMs = row.started_at ? Date.now() - row.started_at.getTime() : 0;
      if (row.task_state === "completed") {
        await this.finishStep(c, row, "completed", { output: row.task_result }, durationMs, after, base);
      } else if (row.task_state === "failed" || row.task_state === "dead" || row.task_state === "cancelled") {
        await this.finishStep(c, row, "failed", { error: row.task_error }, durationMs, after, base);
      } else if (row.task_agent_id && row.task_agent_id !== row.agent_id) {
        // Step progress itself is written by PipelineService.noteProgress, without a full pass.
        await runSql.updateStep(c, runId, row.step_id, { agent_id: row.task_agent_id });
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
        await this.runBuiltinStep(c, run, steps, def, row, rows, after, base);
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
        const row = rows.get(skip.id) as StepRow;
        const finishedAt = new Date();
        await runSql.updateStep(c, runId, skip.id, {
          state: "skipped",
          skip_reason: skip.reason,
          finished_at: finishedAt,
        });
        row.state = "skipped";
        await runSql.event(c, runId, "step.skipped", skip.id, { reason: skip.reason });
        const executor = byId.get(skip.id)?.executor.kind ?? "agent";
        after.emit.push(() => {
          traceSpans.stepEnded({
            ...base,
            stepId: skip.id,
            generation: row.generation,
            state: "skipped",
            executor,
            startedAt: null,
            finishedAt,
            skipReason: skip.reason,
          });
          this.bus.emit("pipeline.step.skipped", { ...base, stepId: skip.id, reason: skip.reason });
        });
      }
      let inline = false;
      for (const id of plan.start) {
        const def = byId.get(id) as StepDefinition;
        const row = rows.get(id) as StepRow;
        if (def.executor.kind === "builtin") {
          inline = true;
          await this.runBuiltinStep(c, run, steps, def, row, rows, after, base);
        } else {
          await this.startAgentStep(c, run, steps, def, row, rows, after, base);
        }
      }
      if (plan.finish && plan.start.length === 0 && plan.skip.length === 0) {
        await this.finishRun(c, run, plan.finish.state, plan.finish.failedSteps, rows, after);
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
    await runSql.updateRun(c, runId, {
      percent,
      current_step: current?.id ?? null,
      message: currentRow?.message ?? null,
    });
    if (percent !== run.percent) {
      after.emit.push(() => this.bus.emit("pipeline.run.progress", { ...base, percent }));
    }
  }

  private async finishStep(
    c: pg.PoolClient,
    row: StepRow,
    outcome: "completed" | "failed",
    result: { output?: unknown; error?: unknown },
    durationMs: number,
    after: AfterCommit,
    base: { runId: string; template: string },
  ): Promise<void> {
    const finishedAt = new Date();
    const agentId = row.last_agent_id ?? row.agent_id;
    await runSql.updateStep(c, row.run_id, row.step_id, {
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
    await runSql.event(c, row.run_id, `step.${outcome}`, row.step_id, { durationMs });
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

  private stepParams(def: StepDefinition, row: StepRow): Record<string, unknown> {
    return { ...(def.params ?? {}), ...(row.input_override ?? {}) };
  }

  /** Outputs of the steps this one depends on, directly or not (what it may build on). */
  private upstream(
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

  private async startAgentStep(
    c: pg.PoolClient,
    run: RunRow,
    steps: StepDefinition[],
    def: StepDefinition,
    row: StepRow,
    rows: Map<string, StepRow>,
    after: AfterCommit,
    base: { runId: string; template: string },
  ): Promise<void> {
    if (def.executor.kind !== "agent") return;
    const task = {
      id: this.newId(),
      type: def.executor.capability,
      payload: {
        pipeline: { runId: run.id, stepId: def.id, template: run.template, version: run.template_version },
        input: run.input,
        params: this.stepParams(def, row),
        upstream: this.upstream(def, steps, rows),
      },
      priority: run.priority,
      maxAttempts: def.retry?.maxAttempts ?? this.defaults.maxAttempts,
      timeoutMs: def.timeoutMs ?? this.defaults.timeoutMs,
      // One task per step generation: a pass repeated after a crash finds the same task.
      idempotencyKey: `pipeline:${run.id}:${def.id}:${row.generation}`,
      // Its attempts' spans hang under this step generation's span, in the run's trace.
      traceParent: stepTaskTraceParent(run.id, def.id, row.generation),
    };
    const inserted = await this.taskStore.insert(task, c);
    if (inserted.created) after.inserted.push({ id: inserted.id, type: task.type, priority: task.priority });
    await runSql.updateStep(c, run.id, def.id, {
      state: "running",
      task_id: inserted.id,
      started_at: new Date(),
      finished_at: null,
      error: null,
    });
    row.state = "running";
    row.task_id = inserted.id;
    await runSql.event(c, run.id, "step.started", def.id, { taskId: inserted.id, capability: task.type });
    after.emit.push(() =>
      this.bus.emit("pipeline.step.started", { ...base, stepId: def.id, taskId: inserted.id }),
    );
  }

  private async runBuiltinStep(
    c: pg.PoolClient,
    run: RunRow,
    steps: StepDefinition[],
    def: StepDefinition,
    row: StepRow,
    rows: Map<string, StepRow>,
    after: AfterCommit,
    base: { runId: string; template: string },
  ): Promise<void> {
    if (def.executor.kind !== "builtin") return;
    const waiting = row.state === "running";
    if (!waiting) {
      await runSql.event(c, run.id, "step.started", def.id, { builtin: def.executor.name });
      after.emit.push(() =>
        this.bus.emit("pipeline.step.started", { ...base, stepId: def.id, taskId: null }),
      );
    }
    const outputs: Record<string, unknown> = {};
    for (const r of rows.values()) if (r.state === "completed") outputs[r.step_id] = r.output;
    const started = waiting && row.started_at ? row.started_at.getTime() : Date.now();
    const decided =
      def.executor.name === "budget-check" ? await this.budgetVerdict(c, run, steps, row, rows) : undefined;
    const budget = decided?.verdict;
    const result = runBuiltin(def.executor.name, {
      runId: run.id,
      template: run.template,
      input: run.input,
      params: this.stepParams(def, row),
      outputs,
      ...(budget ? { budget } : {}),
    });
    if (decided) this.noteBudget(decided.verdict, decided.input, row, waiting, after, base);
    if (result.ok === "wait") {
      await this.holdStep(c, run, row, result, after, base, waiting);
      return;
    }
    if (!waiting) {
      await runSql.updateStep(c, run.id, def.id, { started_at: new Date(started) });
      row.started_at = new Date(started);
    }
    if (result.ok === true && result.artifact) {
      const artifactId = this.newId();
      await c.query(
        `INSERT INTO artifacts (id, run_id, step_id, type, title, content, created_by) VALUES ($1, $2, $3, $4, $5, $6, 'daemon')`,
        [artifactId, run.id, def.id, result.artifact.type, result.artifact.title, result.artifact.content],
      );
      const type = result.artifact.type;
      after.emit.push(() =>
        this.bus.emit("pipeline.artifact.created", { runId: run.id, artifactId, stepId: def.id, type }),
      );
    }
    await this.finishStep(
      c,
      row,
      result.ok ? "completed" : "failed",
      result.ok
        ? { output: result.output }
        : {
            error: { ...result.error, retryable: false, ...(result.output ? { budget: result.output } : {}) },
          },
      Date.now() - started,
      after,
      base,
    );
  }

  /** The budget step's verdict from recorded spend, the run's own limit and any approval. */
  private async budgetVerdict(
    c: pg.PoolClient,
    run: RunRow,
    steps: StepDefinition[],
    row: StepRow,
    rows: Map<string, StepRow>,
  ): Promise<{ verdict: BudgetVerdict; input: BudgetStepInput }> {
    // Role budgets cover the roles that may take what is left of the run.
    const capabilities = steps
      .filter(
        (s) => s.executor.kind === "agent" && !["completed", "skipped"].includes(rows.get(s.id)?.state ?? ""),
      )
      .map((s) => (s.executor.kind === "agent" ? s.executor.capability : ""));
    const input = await this.budgets.stepInput(
      c,
      run,
      { stepId: row.step_id, generation: row.generation },
      capabilities,
      new Date(),
    );
    return { verdict: decideBudgetStep(input), input };
  }

  private noteBudget(
    verdict: BudgetVerdict,
    input: BudgetStepInput,
    row: StepRow,
    waiting: boolean,
    after: AfterCommit,
    base: { runId: string; template: string },
  ): void {
    const approved = verdict.kind === "pass" && (verdict.output as { approved?: unknown }).approved;
    const outcome =
      verdict.kind === "pass"
        ? approved
          ? "approved"
          : verdict.warnings.length > 0
            ? "warn"
            : "pass"
        : verdict.kind === "block" && input.approval?.state === "rejected"
          ? "rejected"
          : verdict.kind;
    // A step that goes on waiting says so once, when it starts to wait.
    if (outcome === "await_approval" && waiting) return;
    const reason =
      verdict.kind === "pass"
        ? verdict.warnings.length > 0
          ? verdict.warnings
              .map((w) => `${w.scope}${w.target ? ` ${w.target}` : ""} ${w.period} soft limit`)
              .join("; ")
          : null
        : verdict.message;
    after.emit.push(() => this.bus.emit("budget.step", { ...base, stepId: row.step_id, outcome, reason }));
  }

  /** Keeps a built-in step running with a message, and opens its approval request once. */
  private async holdStep(
    c: pg.PoolClient,
    run: RunRow,
    row: StepRow,
    result: Extract<BuiltinResult, { ok: "wait" }>,
    after: AfterCommit,
    base: { runId: string; template: string },
    waiting: boolean,
  ): Promise<void> {
    const startedAt = row.started_at ?? new Date();
    if (!waiting || row.message !== result.message) {
      await runSql.updateStep(c, run.id, row.step_id, {
        state: "running",
        started_at: startedAt,
        message: result.message,
        output: result.output,
      });
    }
    row.state = "running";
    row.started_at = startedAt;
    row.message = result.message;
    const key = { runId: run.id, stepId: row.step_id, generation: row.generation };
    if (await this.budgets.requestApproval(c, key, result.output)) {
      await runSql.event(c, run.id, "step.waiting", row.step_id, { message: result.message });
      after.emit.push(() =>
        this.bus.emit("pipeline.step.progress", {
          ...base,
          stepId: row.step_id,
          percent: row.progress ?? 0,
          message: result.message,
        }),
      );
    }
  }

  private async finishRun(
    c: pg.PoolClient,
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
    await runSql.updateRun(c, run.id, {
      state,
      percent: state === "completed" ? 100 : run.percent,
      current_step: null,
      message: null,
      finished_at: finishedAt,
      output: state === "completed" ? outputs : null,
      error:
        state === "failed" ? { message: `step(s) failed: ${failedSteps.join(", ")}`, failedSteps } : null,
    });
    await runSql.event(c, run.id, `run.${state}`, null, { durationMs, failedSteps });
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
