import { type BudgetStepInput, type BudgetVerdict, decideBudgetStep } from "../budgets/budget-decision.ts";
import type { EventBus } from "../events/event-bus.ts";
import { artifactStore } from "../store/artifacts-store.ts";
import type { Tx } from "../store/pg-pool.ts";
import { pipelineEvents, pipelineSteps, type RunRow, type StepRow } from "../store/pipeline-run-store.ts";
import type { AfterCommit, RunBase } from "./after-commit.ts";
import { type BuiltinResult, runBuiltin } from "./builtin-steps.ts";
import { type StepTransitions, stepParams } from "./step-transitions.ts";
import type { StepDefinition } from "./template-types.ts";

/** Reads what a mission's budget step decides on (BudgetService.stepInput). */
export interface BudgetInputs {
  stepInput(
    tx: Tx,
    run: { id: string; template: string; input: Record<string, unknown> },
    step: { stepId: string; generation: number },
    capabilities: string[],
    now: Date,
  ): Promise<BudgetStepInput>;
  /** Opens a step generation's approval request; true only the first time. */
  requestApproval(
    tx: Tx,
    key: { runId: string; stepId: string; generation: number },
    reason: unknown,
  ): Promise<boolean>;
}

/**
 * Runs built-in steps inside a pass: the pure step (builtin-steps.ts) decides, this records the
 * outcome, a finalize step's artifact, and a budget step's verdict or its wait for an approval.
 */
export class BuiltinStepRunner {
  constructor(
    private readonly transitions: StepTransitions,
    private readonly bus: EventBus,
    private readonly budgets: BudgetInputs,
    private readonly newId: () => string,
  ) {}

  /** Runs the step, or decides again on one that waits (`row.state` is then already running). */
  async run(
    tx: Tx,
    run: RunRow,
    steps: StepDefinition[],
    def: StepDefinition,
    row: StepRow,
    rows: Map<string, StepRow>,
    after: AfterCommit,
    base: RunBase,
  ): Promise<void> {
    if (def.executor.kind !== "builtin") return;
    const waiting = row.state === "running";
    if (!waiting) {
      await pipelineEvents.append(tx, run.id, "step.started", def.id, { builtin: def.executor.name });
      after.emit.push(() =>
        this.bus.emit("pipeline.step.started", { ...base, stepId: def.id, taskId: null }),
      );
    }
    const outputs: Record<string, unknown> = {};
    for (const r of rows.values()) if (r.state === "completed") outputs[r.step_id] = r.output;
    const started = waiting && row.started_at ? row.started_at.getTime() : Date.now();
    const decided =
      def.executor.name === "budget-check" ? await this.budgetVerdict(tx, run, steps, row, rows) : undefined;
    const budget = decided?.verdict;
    const result = runBuiltin(def.executor.name, {
      runId: run.id,
      template: run.template,
      input: run.input,
      params: stepParams(def, row),
      outputs,
      ...(budget ? { budget } : {}),
    });
    if (decided) this.noteBudget(decided.verdict, decided.input, row, waiting, after, base);
    if (result.ok === "wait") {
      await this.holdStep(tx, run, row, result, after, base, waiting);
      return;
    }
    if (!waiting) {
      await pipelineSteps.update(tx, run.id, def.id, { started_at: new Date(started) });
      row.started_at = new Date(started);
    }
    if (result.ok === true && result.artifact) {
      const artifactId = this.newId();
      const { type, title, content } = result.artifact;
      await artifactStore.insert(tx, {
        id: artifactId,
        runId: run.id,
        stepId: def.id,
        type,
        title,
        content,
        createdBy: "daemon",
      });
      after.emit.push(() =>
        this.bus.emit("pipeline.artifact.created", { runId: run.id, artifactId, stepId: def.id, type }),
      );
    }
    await this.transitions.finishStep(
      tx,
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
    tx: Tx,
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
      tx,
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
    base: RunBase,
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
    tx: Tx,
    run: RunRow,
    row: StepRow,
    result: Extract<BuiltinResult, { ok: "wait" }>,
    after: AfterCommit,
    base: RunBase,
    waiting: boolean,
  ): Promise<void> {
    const startedAt = row.started_at ?? new Date();
    if (!waiting || row.message !== result.message) {
      await pipelineSteps.update(tx, run.id, row.step_id, {
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
    if (await this.budgets.requestApproval(tx, key, result.output)) {
      await pipelineEvents.append(tx, run.id, "step.waiting", row.step_id, { message: result.message });
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
}
