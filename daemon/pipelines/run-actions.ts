import { MAX_PRIORITY } from "../../contract/schemas/common.ts";
import { OverseerError } from "../errors/overseer-error.ts";
import type { EventBus } from "../events/event-bus.ts";
import { auditLog } from "../store/audit-log.ts";
import { budgetApprovalsStore } from "../store/budget-approvals-store.ts";
import { type Db, type Tx, withTransaction } from "../store/pg-pool.ts";
import {
  pipelineEvents,
  pipelineRuns,
  pipelineSteps,
  type RunRow,
  type StepRow,
} from "../store/pipeline-run-store.ts";
import type { TaskStore } from "../store/task-store.ts";
import { type StepSpanInfo, traceSpans } from "../telemetry/tracing.ts";
import { type AfterCommit, newAfterCommit } from "./after-commit.ts";
import type { PipelineEngine } from "./pipeline-engine.ts";
import { isTerminalRun, type RunState } from "./run-plan.ts";
import { type RunSummary, runSummary } from "./run-views.ts";

export type RunAction =
  | { kind: "pause"; reason?: string }
  | { kind: "resume"; reason?: string }
  | { kind: "cancel"; reason?: string }
  | { kind: "retry-step"; stepId: string; reason?: string }
  | { kind: "skip-step"; stepId: string; reason: string }
  | { kind: "snooze"; until: Date }
  | { kind: "escalate"; priority?: number; reason?: string }
  | { kind: "modify-input"; stepId: string; params: Record<string, unknown> }
  | { kind: "approve-budget"; stepId: string; comment?: string }
  | { kind: "reject-budget"; stepId: string; comment?: string };

/**
 * Operator actions on runs and their steps: each is checked against the run's state and applied
 * with its timeline event and audit record in one transaction, then the run is advanced.
 */
export class RunActions {
  constructor(
    private readonly db: Db,
    private readonly engine: PipelineEngine,
    private readonly taskStore: TaskStore,
    private readonly bus: EventBus,
    /** One pass over the run (PipelineService.advance: one at a time per process). */
    private readonly advance: (runId: string) => Promise<void>,
  ) {}

  /** `requestId`: the request that asked, kept in the audit record (GET /api/audit?requestId=). */
  async act(runId: string, action: RunAction, actor: string, requestId?: string): Promise<RunSummary> {
    const after = newAfterCommit();
    const run = await withTransaction(this.db, async (tx) => {
      const run = await pipelineRuns.lock(tx, runId);
      if (!run) throw new OverseerError("OVS_ERR_RUN_NOT_FOUND", `no run ${runId}`);
      // One read of the steps, under the run's lock, serves the percent floor and the action.
      const rows = await pipelineSteps.ofRun(tx, run.id);
      await this.engine.notePercent(tx, run, rows);
      await this.apply(tx, run, rows, action, after, actor);
      const { kind, ...data } = action;
      await auditLog.record(tx, {
        actor,
        action: `run.${kind}`,
        targetKind: "pipeline_run",
        targetId: runId,
        // A budget decision's comment is the operator's reason for it.
        reason: "reason" in action ? action.reason : "comment" in action ? action.comment : undefined,
        requestId,
        data,
      });
      await pipelineEvents.append(tx, runId, `action.${kind}`, "stepId" in action ? action.stepId : null, {
        actor,
        ...data,
      });
      after.emit.push(() =>
        this.bus.emit("operator.action", {
          actor,
          action: `run.${kind}`,
          targetKind: "pipeline_run",
          targetId: runId,
        }),
      );
      return (await pipelineRuns.get(tx, runId)) as RunRow;
    });
    await this.engine.flush(after);
    if (!isTerminalRun(run.state)) await this.advance(runId);
    return runSummary((await pipelineRuns.get(this.db, runId)) ?? run);
  }

  private async apply(
    tx: Tx,
    run: RunRow,
    rows: StepRow[],
    action: RunAction,
    after: AfterCommit,
    actor: string,
  ): Promise<void> {
    const base = { runId: run.id, template: run.template };
    const conflict = (why: string) =>
      new OverseerError("OVS_ERR_RUN_STATE_CONFLICT", `cannot ${action.kind} run ${run.id}: ${why}`);
    const needState = (...states: RunState[]) => {
      if (!states.includes(run.state)) throw conflict(`it is ${run.state}`);
    };
    const step = (stepId: string): StepRow => {
      const row = rows.find((r) => r.step_id === stepId);
      if (!row) throw new OverseerError("OVS_ERR_STEP_NOT_FOUND", `run ${run.id} has no step ${stepId}`);
      return row;
    };
    switch (action.kind) {
      case "pause":
        needState("running", "snoozed");
        await pipelineRuns.update(tx, run.id, { state: "paused", snoozed_until: null });
        after.emit.push(() => this.bus.emit("pipeline.run.paused", base));
        return;
      case "resume":
        needState("paused", "snoozed");
        await pipelineRuns.update(tx, run.id, { state: "running", snoozed_until: null });
        after.emit.push(() => this.bus.emit("pipeline.run.resumed", base));
        return;
      case "snooze":
        needState("running", "paused");
        if (!Number.isFinite(action.until.getTime()) || action.until.getTime() <= Date.now()) {
          throw new OverseerError("OVS_ERR_VALIDATION", "snooze until must be a valid time in the future");
        }
        await pipelineRuns.update(tx, run.id, { state: "snoozed", snoozed_until: action.until });
        after.emit.push(() =>
          this.bus.emit("pipeline.run.snoozed", { ...base, until: action.until.toISOString() }),
        );
        return;
      case "cancel": {
        if (isTerminalRun(run.state)) throw conflict(`it is ${run.state}`);
        const reason = action.reason ?? "cancelled by operator";
        await this.taskStore.lockInOrder(
          tx,
          rows.filter((r) => r.state === "running" && r.task_id).map((r) => r.task_id as string),
        );
        const finishedAt = new Date();
        for (const row of rows) {
          if (row.state === "running" && row.task_id) {
            const cancelled = await this.taskStore.cancel(tx, row.task_id, reason);
            if (cancelled) after.cancelled.push(cancelled);
          }
          if (row.state === "running" || row.state === "pending") {
            await pipelineSteps.update(tx, run.id, row.step_id, {
              state: "cancelled",
              finished_at: finishedAt,
            });
            const span = stepSpan(run, row, "cancelled", finishedAt);
            after.emit.push(() => traceSpans.stepEnded(span));
          }
        }
        await pipelineRuns.update(tx, run.id, {
          state: "cancelled",
          finished_at: finishedAt,
          current_step: null,
          error: { message: reason },
        });
        const durationMs = finishedAt.getTime() - run.created_at.getTime();
        after.emit.push(() => {
          traceSpans.runEnded({
            runId: run.id,
            template: run.template,
            version: run.template_version,
            state: "cancelled",
            priority: run.priority,
            createdAt: run.created_at,
            finishedAt,
            reason,
          });
          traceSpans.inRun(run.id, () =>
            this.bus.emit("pipeline.run.cancelled", { ...base, durationMs, reason }),
          );
        });
        return;
      }
      case "retry-step": {
        if (run.state === "completed" || run.state === "cancelled") throw conflict(`it is ${run.state}`);
        const row = step(action.stepId);
        if (row.state !== "failed") throw conflict(`step ${action.stepId} is ${row.state}, not failed`);
        const generation = row.generation + 1;
        await pipelineSteps.update(tx, run.id, row.step_id, {
          state: "pending",
          generation,
          task_id: null,
          error: null,
          output: null,
          started_at: null,
          finished_at: null,
          duration_ms: null,
        });
        if (run.state === "failed") await reopen(tx, run);
        after.emit.push(() =>
          this.bus.emit("pipeline.step.retried", { ...base, stepId: row.step_id, generation }),
        );
        return;
      }
      case "approve-budget":
      case "reject-budget": {
        // The next pass (right after this action) reads the decision and lets the step through or fails it.
        const row = step(action.stepId);
        const decided = await budgetApprovalsStore.decide(
          tx,
          { runId: run.id, stepId: row.step_id, generation: row.generation },
          action.kind === "approve-budget" ? "approved" : "rejected",
          actor,
          action.comment ?? null,
        );
        if (!decided || row.state !== "running") {
          throw conflict(`step ${action.stepId} is not waiting for a budget approval`);
        }
        this.engine.forgetWaiting(run.id, row.step_id, row.generation);
        return;
      }
      case "skip-step": {
        if (isTerminalRun(run.state) && run.state !== "failed") throw conflict(`it is ${run.state}`);
        const row = step(action.stepId);
        if (!["pending", "running", "failed"].includes(row.state)) {
          throw conflict(`step ${action.stepId} is ${row.state}`);
        }
        if (row.state === "running" && row.task_id) {
          const cancelled = await this.taskStore.cancel(tx, row.task_id, `step skipped: ${action.reason}`);
          if (cancelled) after.cancelled.push(cancelled);
        }
        const finishedAt = new Date();
        await pipelineSteps.update(tx, run.id, row.step_id, {
          state: "skipped",
          skip_reason: action.reason,
          finished_at: finishedAt,
        });
        // A failed step's span was emitted when it failed; skipping it afterwards adds none.
        if (row.state !== "failed") {
          const span = { ...stepSpan(run, row, "skipped", finishedAt), skipReason: action.reason };
          after.emit.push(() => traceSpans.stepEnded(span));
        }
        if (run.state === "failed") await reopen(tx, run);
        after.emit.push(() =>
          this.bus.emit("pipeline.step.skipped", { ...base, stepId: row.step_id, reason: action.reason }),
        );
        return;
      }
      case "escalate": {
        if (isTerminalRun(run.state)) throw conflict(`it is ${run.state}`);
        const priority = Math.min(MAX_PRIORITY, action.priority ?? run.priority + 100);
        await pipelineRuns.update(tx, run.id, { priority, escalated: true });
        // Queued step tasks move up their queue now; later steps inherit the run's priority.
        const running = rows
          .filter((r) => r.state === "running" && r.task_id)
          .map((r) => r.task_id as string);
        await this.taskStore.lockInOrder(tx, running);
        const moved = await this.taskStore.reprioritizeQueued(tx, running, priority);
        // Their waiting BullMQ jobs get the new priority after commit.
        for (const t of moved) after.reprioritized.push({ id: t.id, type: t.type, priority });
        after.emit.push(() => this.bus.emit("pipeline.run.escalated", { ...base, priority }));
        return;
      }
      case "modify-input": {
        if (isTerminalRun(run.state)) throw conflict(`it is ${run.state}`);
        const row = step(action.stepId);
        if (row.state !== "pending")
          throw conflict(`step ${action.stepId} has already started (${row.state})`);
        await pipelineSteps.update(tx, run.id, row.step_id, {
          input_override: { ...(row.input_override ?? {}), ...action.params },
        });
        after.emit.push(() =>
          this.bus.emit("pipeline.step.input_modified", { ...base, stepId: row.step_id }),
        );
        return;
      }
    }
  }
}

/** A failed run that an operator retried or skipped a step of runs again. */
async function reopen(tx: Tx, run: RunRow): Promise<void> {
  await pipelineRuns.update(tx, run.id, { state: "running", finished_at: null, error: null });
  run.state = "running";
}

/** The span of a step that an operator action ended (docs/tracing.md). */
function stepSpan(run: RunRow, row: StepRow, state: "skipped" | "cancelled", finishedAt: Date): StepSpanInfo {
  return {
    runId: run.id,
    template: run.template,
    stepId: row.step_id,
    generation: row.generation,
    state,
    executor: row.task_id ? "agent" : "builtin",
    startedAt: row.state === "running" ? row.started_at : null,
    finishedAt,
    taskId: row.task_id,
    agentId: row.agent_id,
  };
}
