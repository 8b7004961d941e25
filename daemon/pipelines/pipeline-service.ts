import { randomUUID } from "node:crypto";
import { OverseerError } from "../errors/overseer-error.ts";
import type { EventBus } from "../events/event-bus.ts";
import type { Db, Queryable, Tx } from "../store/pg-pool.ts";
import { pipelineRunReads } from "../store/pipeline-run-read-store.ts";
import type { RunRow } from "../store/pipeline-run-store.ts";
import { pipelineRuns, pipelineSteps } from "../store/pipeline-run-store.ts";
import type { PipelineTemplateStore } from "../store/pipeline-template-store.ts";
import type { TaskStore } from "../store/task-store.ts";
import type { TaskOutcomePort } from "../tasks/task-ports.ts";
import { BUILTIN_TEMPLATES } from "./builtin-templates.ts";
import type { PipelineEngine } from "./pipeline-engine.ts";
import { type RunAction, RunActions } from "./run-actions.ts";
import {
  type RunList,
  type RunListFilter,
  type RunSummary,
  type RunView,
  RunViews,
  runSummary,
} from "./run-views.ts";
import type { StoredTemplate, TemplateDefinition } from "./template-types.ts";
import { resolveInput, validateTemplate } from "./template-validation.ts";

export type { RunAction } from "./run-actions.ts";

export interface ExecuteInput {
  input?: unknown;
  priority?: number;
  idempotencyKey?: string;
  scheduleId?: string | null;
}

/**
 * Pipelines as supervised jobs: templates, execution (intake and the passes that follow), and the
 * port through which tasks report a step's end. Reads of runs are RunViews'; operator actions are
 * RunActions' (both reached through here).
 */
export class PipelineService implements TaskOutcomePort {
  private capabilities: Set<string> = new Set();
  private readonly passes = new Map<string, { again: boolean; done: Promise<void> }>();
  private readonly views: RunViews;
  private readonly actions: RunActions;

  constructor(
    private readonly db: Db,
    private readonly templates: PipelineTemplateStore,
    private readonly engine: PipelineEngine,
    taskStore: TaskStore,
    private readonly bus: EventBus,
    private readonly onError: (error: unknown, context: string) => void,
    /** Where executes commit: a small pool of its own, so intake never waits behind passes. */
    private readonly intakeDb: Db = db,
    private readonly newId: () => string = randomUUID,
  ) {
    this.views = new RunViews(db, engine);
    this.actions = new RunActions(db, engine, taskStore, bus, (runId) => this.advance(runId));
  }

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

  listTemplates(): Promise<Array<StoredTemplate & { versions: number }>> {
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
    tx: Tx,
    template: string,
    req: ExecuteInput,
  ): Promise<{ id: string; template: StoredTemplate; created: boolean }> {
    // Read through the caller's transaction: a second pooled connection per tick could starve a small pool.
    const tpl = await this.templates.latest(template, tx);
    return this.createRun(tx, template, tpl, req);
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
    const made = await pipelineRuns.create(
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
            await pipelineRuns.touch(this.db, runId).catch(() => {});
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
      const runId = await pipelineSteps.runOfTask(this.db, taskId);
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
      const step = await pipelineSteps.noteProgress(this.db, taskId, percent ?? null, message ?? null);
      if (step) {
        this.bus.emit("pipeline.step.progress", {
          runId: step.runId,
          template: step.template,
          stepId: step.stepId,
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
    const ids = await pipelineRunReads.needingAttention(this.db, limit);
    for (const id of ids) await this.advance(id);
    return ids.length;
  }

  /** A run as clients show it: state, percent, current step, elapsed, ETA and the step timeline. */
  view(id: string): Promise<RunView> {
    return this.views.view(id);
  }

  summary(run: RunRow): RunSummary {
    return runSummary(run);
  }

  list(filter: RunListFilter): Promise<RunList> {
    return this.views.list(filter);
  }

  /** An operator action on a run (see RunActions), then a pass over it. */
  act(runId: string, action: RunAction, actor: string, requestId?: string): Promise<RunSummary> {
    return this.actions.act(runId, action, actor, requestId);
  }
}
