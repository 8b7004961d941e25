import { randomUUID } from "node:crypto";
import type pg from "pg";
import { MAX_PRIORITY } from "../../contract/schemas/common.ts";
import { budgetSql } from "../budgets/budget-store.ts";
import { OverseerError } from "../errors/overseer-error.ts";
import type { EventBus } from "../events/event-bus.ts";
import { auditLog } from "../store/audit-log.ts";
import { type Db, withTransaction } from "../store/pg-pool.ts";
import type { Queryable, TaskStore } from "../store/task-store.ts";
import type { TaskOutcomePort } from "../tasks/task-ports.ts";
import { type StepSpanInfo, traceSpans } from "../telemetry/tracing.ts";
import { BUILTIN_TEMPLATES } from "./builtin-templates.ts";
import { type AfterCommit, newAfterCommit, type PipelineEngine } from "./pipeline-engine.ts";
import { isTerminalRun, type RunState } from "./run-plan.ts";
import { estimateEta, runPercent, type StepProgress } from "./run-progress.ts";
import { type RunRow, runSql, type StepRow } from "./run-store.ts";
import type { TemplateStore } from "./template-store.ts";
import type { StoredTemplate, TemplateDefinition } from "./template-types.ts";
import { resolveInput, validateTemplate } from "./template-validation.ts";

export interface ExecuteInput {
  input?: unknown;
  priority?: number;
  idempotencyKey?: string;
  scheduleId?: string | null;
}

export type RunAction =
  | { kind: "pause" }
  | { kind: "resume" }
  | { kind: "cancel"; reason?: string }
  | { kind: "retry-step"; stepId: string }
  | { kind: "skip-step"; stepId: string; reason: string }
  | { kind: "snooze"; until: Date }
  | { kind: "escalate"; priority?: number; reason?: string }
  | { kind: "modify-input"; stepId: string; params: Record<string, unknown> }
  | { kind: "approve-budget"; stepId: string; comment?: string }
  | { kind: "reject-budget"; stepId: string; comment?: string };

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** Pipelines as supervised jobs: templates, execution, reads and operator actions. */
export class PipelineService implements TaskOutcomePort {
  private capabilities: Set<string> = new Set();
  private readonly passes = new Map<string, { again: boolean; done: Promise<void> }>();

  constructor(
    private readonly db: Db,
    private readonly templates: TemplateStore,
    private readonly engine: PipelineEngine,
    private readonly taskStore: TaskStore,
    private readonly bus: EventBus,
    private readonly onError: (error: unknown, context: string) => void,
    /** Where executes commit: a small pool of its own, so intake never waits behind passes. */
    private readonly intakeDb: Db = db,
    private readonly newId: () => string = randomUUID,
  ) {}

  /** TaskOutcomePort: a step's task ended, so its run moves on (only types templates use). */
  taskEnded(task: { taskId: string; taskType: string }): void {
    if (this.capabilities.has(task.taskType)) void this.advanceRunOfTask(task.taskId);
  }

  /** TaskOutcomePort: a step's task reported progress. */
  taskProgressed(task: { taskId: string; taskType: string; percent?: number; message?: string }): void {
    if (this.capabilities.has(task.taskType)) void this.noteProgress(task.taskId, task.percent, task.message);
  }

  private capabilitiesReadAt = 0;

  /**
   * Re-reads which capabilities templates use (at most every 5 s): a template saved on another
   * replica must not have its step events ignored here.
   */
  async refreshCapabilities(now = Date.now()): Promise<void> {
    if (now - this.capabilitiesReadAt < 5_000) return;
    this.capabilitiesReadAt = now;
    const fresh = await this.templates.capabilities();
    for (const c of fresh) this.capabilities.add(c);
  }

  /** Stores the built-in templates (a new version only if they changed) and any from files. */
  async start(fileTemplates: TemplateDefinition[] = []): Promise<void> {
    for (const def of BUILTIN_TEMPLATES) await this.saveTemplate(def, "builtin");
    for (const def of fileTemplates) await this.saveTemplate(def, "file");
    this.capabilities = await this.templates.capabilities();
  }

  async saveTemplate(
    def: TemplateDefinition,
    source: StoredTemplate["source"],
  ): Promise<{ template: StoredTemplate; created: boolean }> {
    validateTemplate(def);
    if (source === "api" && BUILTIN_TEMPLATES.some((b) => b.name === def.name)) {
      throw new OverseerError(
        "OVS_ERR_TEMPLATE_BUILTIN",
        `${def.name} is built in; save your variant under another name`,
      );
    }
    const saved = await this.templates.save(def, source);
    for (const s of def.steps) if (s.executor.kind === "agent") this.capabilities.add(s.executor.capability);
    if (saved.created) {
      this.bus.emit("pipeline.template.saved", {
        template: def.name,
        version: saved.template.version,
        source,
      });
    }
    return saved;
  }

  async getTemplate(name: string, version?: number): Promise<StoredTemplate> {
    const t = version ? await this.templates.version(name, version) : await this.templates.latest(name);
    if (!t)
      throw new OverseerError(
        "OVS_ERR_TEMPLATE_NOT_FOUND",
        `no template ${name}${version ? `@${version}` : ""}`,
      );
    return t;
  }

  listTemplates() {
    return this.templates.list();
  }

  /** Commits the run (and its pending steps) before answering; the first pass follows at once. */
  async execute(template: string, req: ExecuteInput): Promise<{ id: string; created: boolean }> {
    const tpl = await this.templates.latestWithin(template, 1_000);
    const made = await this.createRun(this.intakeDb, template, tpl, req);
    if (made.created) this.started(made.id, made.template, req.priority ?? 0);
    return { id: made.id, created: made.created };
  }

  /** Inside another transaction (a schedule tick): the run commits with the caller's writes. */
  async executeIn(
    c: pg.PoolClient,
    template: string,
    req: ExecuteInput,
  ): Promise<{ id: string; template: StoredTemplate; created: boolean }> {
    // Read through the caller's transaction: a second pooled connection per tick could starve a small pool.
    const tpl = await this.templates.latest(template, c);
    return this.createRun(c, template, tpl, req);
  }

  /** Checks the input against the template and inserts the run with its steps and first event. */
  private async createRun(
    q: Queryable,
    name: string,
    tpl: StoredTemplate | null,
    req: ExecuteInput,
  ): Promise<{ id: string; created: boolean; template: StoredTemplate }> {
    if (!tpl) throw new OverseerError("OVS_ERR_TEMPLATE_NOT_FOUND", `no template ${name}`);
    const input = resolveInput(tpl.definition, req.input);
    const made = await runSql.create(
      q,
      {
        id: this.newId(),
        template: tpl.name,
        version: tpl.version,
        input,
        priority: req.priority ?? 0,
        idempotencyKey: req.idempotencyKey ?? null,
        scheduleId: req.scheduleId ?? null,
      },
      this.engine.ordered(tpl).map((s) => s.id),
      { version: tpl.version, scheduleId: req.scheduleId },
    );
    return { ...made, template: tpl };
  }

  /** After a run was created (by `execute`, or by `executeIn` once the caller committed). */
  started(id: string, tpl: StoredTemplate, priority: number): void {
    this.bus.emit("pipeline.run.started", { runId: id, template: tpl.name, version: tpl.version, priority });
    void this.advance(id);
  }

  /**
   * One pass over a run at a time per process: a trigger that arrives during a pass asks for one
   * more pass instead of queueing on the run's row lock with a pooled connection held.
   */
  advance(runId: string): Promise<void> {
    const current = this.passes.get(runId);
    if (current) {
      current.again = true;
      return current.done;
    }
    const entry = { again: false, done: Promise.resolve() };
    this.passes.set(runId, entry);
    entry.done = (async () => {
      try {
        do {
          entry.again = false;
          await this.engine.advance(runId).catch(async (e) => {
            this.onError(e, `advance run ${runId}`);
            // A run whose pass keeps failing goes to the back of the sweep's queue, so it cannot
            // hold the front of every sweep while other runs wait.
            await this.db
              .query("UPDATE pipeline_runs SET updated_at = now() WHERE id = $1", [runId])
              .catch(() => {});
          });
        } while (entry.again);
      } finally {
        this.passes.delete(runId);
      }
    })();
    return entry.done;
  }

  private async advanceRunOfTask(taskId: string): Promise<void> {
    try {
      const runId = await runSql.runOfTask(this.db, taskId);
      if (runId) await this.advance(runId);
    } catch (error) {
      this.onError(error, `advance run of task ${taskId}`);
    }
  }

  /**
   * A step's progress report: one statement, no pass over the run (progress changes nothing the
   * planner decides on). Step progress only rises within a generation, so the run's percent, which
   * is computed from it, never goes down between passes.
   */
  private async noteProgress(
    taskId: string,
    percent: number | undefined,
    message: string | undefined,
  ): Promise<void> {
    try {
      const r = await this.db.query<{ run_id: string; step_id: string; template: string }>(
        `UPDATE pipeline_steps s SET progress = GREATEST(COALESCE(s.progress, 0), COALESCE($2, s.progress, 0)),
           message = COALESCE($3, s.message)
         FROM pipeline_runs r
         WHERE s.task_id = $1 AND s.state = 'running' AND r.id = s.run_id
         RETURNING s.run_id, s.step_id, r.template`,
        [taskId, percent ?? null, message ?? null],
      );
      const row = r.rows[0];
      if (row) {
        this.bus.emit("pipeline.step.progress", {
          runId: row.run_id,
          template: row.template,
          stepId: row.step_id,
          percent,
          message,
        });
      }
    } catch (error) {
      this.onError(error, `note progress of task ${taskId}`);
    }
  }

  /** Supervision pass (leader): moves runs whose steps ended or whose snooze is over. */
  async sweep(limit = 200): Promise<number> {
    const ids = await runSql.needingAttention(this.db, limit);
    for (const id of ids) await this.advance(id);
    return ids.length;
  }

  /** A run as clients show it: state, percent, current step, elapsed, ETA and the step timeline. */
  async view(id: string) {
    const run = await runSql.get(this.db, id);
    if (!run) throw new OverseerError("OVS_ERR_RUN_NOT_FOUND", `no run ${id}`);
    const tpl = await this.engine.template(run);
    const steps = this.engine.ordered(tpl);
    const rows = new Map((await runSql.steps(this.db, id)).map((r) => [r.step_id, r]));
    const terminal = isTerminalRun(run.state);
    const now = Date.now();
    const elapsedMs = (run.finished_at?.getTime() ?? now) - run.created_at.getTime();
    const progress = new Map<string, StepProgress>(
      [...rows.values()].map((r) => [r.step_id, { id: r.step_id, state: r.state, percent: r.progress }]),
    );
    const percent = run.state === "completed" ? 100 : runPercent(steps, progress, run.percent, false);
    const eta = terminal
      ? { remainingMs: 0, method: "none" as const }
      : estimateEta({
          steps,
          states: new Map(
            [...rows.values()].map((r) => [
              r.step_id,
              { state: r.state, elapsedMs: r.started_at ? now - r.started_at.getTime() : 0 },
            ]),
          ),
          history: await runSql.stepHistory(this.db, run.template, run.template_version),
          elapsedMs,
          percent,
        });
    const current = steps.find((s) => rows.get(s.id)?.state === "running");
    const events = await this.db.query<{
      id: string;
      at: Date;
      type: string;
      step_id: string | null;
      data: unknown;
    }>(
      "SELECT id, at, type, step_id, data FROM pipeline_events WHERE run_id = $1 ORDER BY id DESC LIMIT 200",
      [id],
    );
    return {
      ...this.summary(run),
      percent,
      elapsedMs,
      eta: {
        remainingMs: eta.remainingMs,
        at: eta.remainingMs === null ? null : new Date(now + eta.remainingMs).toISOString(),
        method: eta.method,
      },
      currentStep: current
        ? { id: current.id, name: current.name, message: rows.get(current.id)?.message ?? null }
        : null,
      steps: steps.map((s) => this.stepView(s.id, s.name, rows.get(s.id) as StepRow, s.executor)),
      events: events.rows.reverse().map((e) => ({
        id: Number(e.id),
        at: e.at.toISOString(),
        type: e.type,
        stepId: e.step_id,
        data: e.data,
      })),
    };
  }

  summary(run: RunRow) {
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

  private stepView(id: string, name: string, r: StepRow, executor: unknown) {
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

  async list(filter: {
    template?: string;
    state?: RunState;
    from?: string;
    to?: string;
    limit: number;
    offset: number;
  }) {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      args.push(v);
      where.push(sql.replace("?", `$${args.length}`));
    };
    if (filter.template) add("template = ?", filter.template);
    if (filter.state) add("state = ?", filter.state);
    if (filter.from) add("created_at >= ?", filter.from);
    if (filter.to) add("created_at < ?", filter.to);
    const cond = where.length ? `WHERE ${where.join(" AND ")}` : "";
    const total = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pipeline_runs ${cond}`,
      args,
    );
    const rows = await this.db.query<RunRow>(
      `SELECT * FROM pipeline_runs ${cond} ORDER BY created_at DESC, id LIMIT $${args.length + 1} OFFSET $${args.length + 2}`,
      [...args, filter.limit, filter.offset],
    );
    return {
      total: total.rows[0]?.n ?? 0,
      limit: filter.limit,
      offset: filter.offset,
      runs: rows.rows.map((r) => this.summary(r)),
    };
  }

  /**
   * An operator action on a run: checked against the run's state, applied with its timeline event
   * and audit record in one transaction, then the run is advanced.
   */
  async act(
    runId: string,
    action: RunAction,
    actor: string,
  ): Promise<ReturnType<PipelineService["summary"]>> {
    const after = newAfterCommit();
    const run = await withTransaction(this.db, async (c) => {
      const run = await runSql.lock(c, runId);
      if (!run) throw new OverseerError("OVS_ERR_RUN_NOT_FOUND", `no run ${runId}`);
      // One read of the steps, under the run's lock, serves the percent floor and the action.
      const rows = await runSql.steps(c, run.id);
      await this.engine.notePercent(c, run, rows);
      await this.apply(c, run, rows, action, after, actor);
      const { kind, ...data } = action;
      await auditLog.record(c, {
        actor,
        action: `run.${kind}`,
        targetKind: "pipeline_run",
        targetId: runId,
        reason: "reason" in action ? action.reason : undefined,
        data,
      });
      await runSql.event(c, runId, `action.${kind}`, "stepId" in action ? action.stepId : null, {
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
      return (await runSql.get(c, runId)) as RunRow;
    });
    await this.engine.flush(after);
    if (!isTerminalRun(run.state)) await this.advance(runId);
    return this.summary((await runSql.get(this.db, runId)) ?? run);
  }

  private async apply(
    c: pg.PoolClient,
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
        await runSql.updateRun(c, run.id, { state: "paused", snoozed_until: null });
        after.emit.push(() => this.bus.emit("pipeline.run.paused", base));
        return;
      case "resume":
        needState("paused", "snoozed");
        await runSql.updateRun(c, run.id, { state: "running", snoozed_until: null });
        after.emit.push(() => this.bus.emit("pipeline.run.resumed", base));
        return;
      case "snooze":
        needState("running", "paused");
        if (!Number.isFinite(action.until.getTime()) || action.until.getTime() <= Date.now()) {
          throw new OverseerError("OVS_ERR_VALIDATION", "snooze until must be a valid time in the future");
        }
        await runSql.updateRun(c, run.id, { state: "snoozed", snoozed_until: action.until });
        after.emit.push(() =>
          this.bus.emit("pipeline.run.snoozed", { ...base, until: action.until.toISOString() }),
        );
        return;
      case "cancel": {
        if (isTerminalRun(run.state)) throw conflict(`it is ${run.state}`);
        const reason = action.reason ?? "cancelled by operator";
        await this.taskStore.lockInOrder(
          c,
          rows.filter((r) => r.state === "running" && r.task_id).map((r) => r.task_id as string),
        );
        const finishedAt = new Date();
        for (const row of rows) {
          if (row.state === "running" && row.task_id) {
            const cancelled = await this.taskStore.cancel(c, row.task_id, reason);
            if (cancelled) after.cancelled.push(cancelled);
          }
          if (row.state === "running" || row.state === "pending") {
            await runSql.updateStep(c, run.id, row.step_id, { state: "cancelled", finished_at: finishedAt });
            const span = stepSpan(run, row, "cancelled", finishedAt);
            after.emit.push(() => traceSpans.stepEnded(span));
          }
        }
        await runSql.updateRun(c, run.id, {
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
        await runSql.updateStep(c, run.id, row.step_id, {
          state: "pending",
          generation,
          task_id: null,
          error: null,
          output: null,
          started_at: null,
          finished_at: null,
          duration_ms: null,
        });
        if (run.state === "failed") await this.reopen(c, run);
        after.emit.push(() =>
          this.bus.emit("pipeline.step.retried", { ...base, stepId: row.step_id, generation }),
        );
        return;
      }
      case "approve-budget":
      case "reject-budget": {
        // The next pass (right after this action) reads the decision and lets the step through or fails it.
        const row = step(action.stepId);
        const decided = await budgetSql.decide(
          c,
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
          const cancelled = await this.taskStore.cancel(c, row.task_id, `step skipped: ${action.reason}`);
          if (cancelled) after.cancelled.push(cancelled);
        }
        const finishedAt = new Date();
        await runSql.updateStep(c, run.id, row.step_id, {
          state: "skipped",
          skip_reason: action.reason,
          finished_at: finishedAt,
        });
        // A failed step's span was emitted when it failed; skipping it afterwards adds none.
        if (row.state !== "failed") {
          const span = { ...stepSpan(run, row, "skipped", finishedAt), skipReason: action.reason };
          after.emit.push(() => traceSpans.stepEnded(span));
        }
        if (run.state === "failed") await this.reopen(c, run);
        after.emit.push(() =>
          this.bus.emit("pipeline.step.skipped", { ...base, stepId: row.step_id, reason: action.reason }),
        );
        return;
      }
      case "escalate": {
        if (isTerminalRun(run.state)) throw conflict(`it is ${run.state}`);
        const priority = Math.min(MAX_PRIORITY, action.priority ?? run.priority + 100);
        await runSql.updateRun(c, run.id, { priority, escalated: true });
        // Queued step tasks move up their queue now; later steps inherit the run's priority.
        const running = rows
          .filter((r) => r.state === "running" && r.task_id)
          .map((r) => r.task_id as string);
        await this.taskStore.lockInOrder(c, running);
        const moved = await this.taskStore.reprioritizeQueued(c, running, priority);
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
        await runSql.updateStep(c, run.id, row.step_id, {
          input_override: { ...(row.input_override ?? {}), ...action.params },
        });
        after.emit.push(() =>
          this.bus.emit("pipeline.step.input_modified", { ...base, stepId: row.step_id }),
        );
        return;
      }
    }
  }

  private async reopen(c: pg.PoolClient, run: RunRow): Promise<void> {
    await runSql.updateRun(c, run.id, { state: "running", finished_at: null, error: null });
    run.state = "running";
  }
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
