import { randomUUID } from "node:crypto";
import type { Static } from "typebox";
import type {
  ScheduleTick,
  ScheduleView as ScheduleViewSchema,
  ScheduleWithTicks,
} from "../../contract/schemas/schedules.ts";
import { OverseerError } from "../errors/overseer-error.ts";
import type { EventBus } from "../events/event-bus.ts";
import type { PipelineService } from "../pipelines/pipeline-service.ts";
import type { StoredTemplate } from "../pipelines/template-types.ts";
import { resolveInput } from "../pipelines/template-validation.ts";
import { auditLog } from "../store/audit-log.ts";
import { type Db, type Tx, withSnapshot, withTransaction } from "../store/pg-pool.ts";
import { withSavepoint } from "../store/savepoint.ts";
import {
  type ScheduleRow,
  type ScheduleState,
  scheduleStore,
  type TickRow,
} from "../store/schedules-store.ts";
import { cronProblems, isTimeZone, nextTick } from "./cron.ts";

export interface CreateSchedule {
  name: string;
  template: string;
  input?: Record<string, unknown>;
  /** Recurring: a 5- or 6-field cron expression, read in `timezone`. */
  cron?: string;
  /** IANA time zone of the cron expression. @default "UTC" */
  timezone?: string;
  /** One-off: an ISO 8601 time in the future. */
  runAt?: string;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export type ScheduleView = Static<typeof ScheduleViewSchema>;

export function scheduleView(s: ScheduleRow): ScheduleView {
  return {
    id: s.id,
    name: s.name,
    template: s.template,
    input: s.input,
    kind: s.cron ? "cron" : "once",
    cron: s.cron,
    runAt: iso(s.run_at),
    timezone: s.timezone,
    state: s.state,
    nextRunAt: iso(s.next_run_at),
    lastTickAt: iso(s.last_tick_at),
    createdAt: s.created_at.toISOString(),
    updatedAt: s.updated_at.toISOString(),
  };
}

const tickView = (t: TickRow): Static<typeof ScheduleTick> => ({
  tickAt: t.tick_at.toISOString(),
  runId: t.run_id,
  firedAt: t.fired_at.toISOString(),
});

const invalid = (problems: string[]) =>
  new OverseerError("OVS_ERR_SCHEDULE_INVALID", `invalid schedule: ${problems.join("; ")}`, { problems });

/**
 * Recurring (cron) and one-off pipeline runs.
 *
 * Exactly once across replicas: every replica runs `tick()`. A due schedule is taken with
 * `FOR UPDATE SKIP LOCKED`, so one replica at a time handles it, and the tick is claimed by
 * inserting its `schedule_ticks` row (primary key schedule_id, tick_at) in the same transaction as
 * the run and the schedule's new `next_run_at`. Either all of it commits or none of it does; a
 * replica that comes second finds the row not due any more (or, failing that, the tick taken).
 *
 * Missed ticks: after downtime (every replica down, or the schedule paused) a schedule fires at
 * most ONE catch-up run, as soon as a replica is up; every other missed tick is skipped, and the
 * next run is the first tick after now (a Kubernetes CronJob / Temporal catch-up window of one).
 * The catch-up run is recorded under the tick that was due (`next_run_at`, the first one missed):
 * node-cron computes ticks only forward from the present, so the latest missed tick is not known
 * without scanning. A resumed cron schedule starts at its next tick (no catch-up for the pause);
 * a resumed one-off whose time has passed fires at once.
 */
export class ScheduleService {
  constructor(
    private readonly db: Db,
    private readonly pipelines: PipelineService,
    private readonly bus: EventBus,
    private readonly onError: (error: unknown, context: string) => void,
    private readonly newId: () => string = randomUUID,
  ) {}

  /** Validates everything (time, template, input) before storing anything. */
  async create(req: CreateSchedule, actor: string, requestId?: string): Promise<ScheduleView> {
    const timezone = req.timezone ?? "UTC";
    const problems: string[] = [];
    let runAt: Date | null = null;
    if ((req.cron === undefined) === (req.runAt === undefined)) {
      problems.push("give either cron (recurring) or runAt (one-off)");
    } else if (req.cron !== undefined) {
      problems.push(...cronProblems(req.cron, timezone));
    } else {
      if (!isTimeZone(timezone)) problems.push(`unknown time zone "${timezone}"`);
      runAt = new Date(req.runAt as string);
      if (Number.isNaN(runAt.getTime())) problems.push("runAt must be an ISO 8601 time");
      else if (runAt.getTime() <= Date.now()) problems.push("runAt must be in the future");
    }
    if (problems.length > 0) throw invalid(problems);
    const tpl = await this.pipelines.getTemplate(req.template);
    resolveInput(tpl.definition, req.input);

    const id = this.newId();
    const nextRunAt = req.cron !== undefined ? nextTick(req.cron, timezone, new Date()) : (runAt as Date);
    const row = await withTransaction(this.db, async (c) => {
      const row = await scheduleStore.insert(c, {
        id,
        name: req.name,
        template: tpl.name,
        // As given: defaults are filled from the template version current at each tick.
        input: req.input ?? {},
        cron: req.cron ?? null,
        runAt,
        timezone,
        nextRunAt,
      });
      if (!row) throw new OverseerError("OVS_ERR_SCHEDULE_CONFLICT", `a schedule named ${req.name} exists`);
      await this.audit(
        c,
        actor,
        "create",
        row,
        undefined,
        {
          name: row.name,
          template: row.template,
          cron: row.cron,
          runAt: iso(row.run_at),
          timezone,
        },
        requestId,
      );
      return row;
    });
    this.bus.emit("schedule.saved", { scheduleId: id, name: row.name, template: row.template });
    this.operatorAction(actor, "create", id);
    return scheduleView(row);
  }

  async list(state?: ScheduleState): Promise<ScheduleView[]> {
    return (await scheduleStore.list(this.db, state)).map(scheduleView);
  }

  /**
   * A schedule with its latest ticks (and the run each started), read from one snapshot: a tick
   * never shows beside the `nextRunAt` it replaced.
   */
  get(id: string, ticks = 20): Promise<Static<typeof ScheduleWithTicks>> {
    return withSnapshot(this.db, async (c) => {
      const row = await scheduleStore.get(c, id);
      if (!row) throw notFound(id);
      return { ...scheduleView(row), ticks: (await scheduleStore.recentTicks(c, id, ticks)).map(tickView) };
    });
  }

  /** Pausing a paused schedule is a no-op; a done one cannot be paused. */
  pause(id: string, actor: string, reason?: string, requestId?: string): Promise<ScheduleView> {
    return this.setState(id, actor, "pause", reason, requestId);
  }

  /** Resuming an active schedule is a no-op; a done one cannot be resumed. */
  resume(id: string, actor: string, reason?: string, requestId?: string): Promise<ScheduleView> {
    return this.setState(id, actor, "resume", reason, requestId);
  }

  /** Deletes the schedule and its ticks; the runs it started stay. */
  async delete(id: string, actor: string, reason?: string, requestId?: string): Promise<void> {
    const row = await withTransaction(this.db, async (c) => {
      const row = await scheduleStore.remove(c, id);
      if (!row) throw notFound(id);
      await this.audit(c, actor, "delete", row, reason, undefined, requestId);
      return row;
    });
    this.bus.emit("schedule.deleted", { scheduleId: id, name: row.name });
    this.operatorAction(actor, "delete", id);
  }

  private async setState(
    id: string,
    actor: string,
    action: "pause" | "resume",
    reason?: string,
    requestId?: string,
  ): Promise<ScheduleView> {
    const result = await withTransaction(this.db, async (c) => {
      const row = await scheduleStore.lock(c, id);
      if (!row) throw notFound(id);
      if (row.state === "done") {
        throw new OverseerError(
          "OVS_ERR_SCHEDULE_STATE_CONFLICT",
          `cannot ${action} schedule ${row.name}: it is done`,
        );
      }
      const target: ScheduleState = action === "pause" ? "paused" : "active";
      if (row.state === target) return { row, changed: false };
      const next =
        target === "paused" ? null : row.cron ? nextTick(row.cron, row.timezone, new Date()) : row.run_at;
      const updated = await scheduleStore.setState(c, id, target, next);
      await this.audit(c, actor, action, updated, reason, undefined, requestId);
      return { row: updated, changed: true };
    });
    if (result.changed) {
      const { row } = result;
      this.bus.emit("schedule.state_changed", { scheduleId: id, name: row.name, state: row.state });
      this.operatorAction(actor, action, id);
    }
    return scheduleView(result.row);
  }

  /**
   * One pass, on every replica: fires due schedules, each in its own transaction, up to `limit`.
   * Returns how many runs it started.
   */
  async tick(limit = 50): Promise<number> {
    let started = 0;
    for (let i = 0; i < limit; i++) {
      const outcome = await this.fireNextDue();
      if (outcome === "none") break;
      if (outcome === "fired") started++;
    }
    return started;
  }

  private async fireNextDue(): Promise<"none" | "fired" | "skipped"> {
    const done = await withTransaction(this.db, async (c) => {
      const s = await scheduleStore.lockNextDue(c);
      if (!s) return null;
      const tickAt = s.next_run_at as Date;
      const run = (await scheduleStore.claimTick(c, s.id, tickAt)) ? await this.startRun(c, s, tickAt) : null;
      const next = this.after(s, tickAt, s.db_now);
      await scheduleStore.ticked(c, s.id, tickAt, next);
      return { s, tickAt, run, state: next.state };
    });
    if (!done) return "none";
    const { s, tickAt, run, state } = done;
    if (run) {
      this.pipelines.started(run.id, run.template, 0);
      this.bus.emit("schedule.fired", {
        scheduleId: s.id,
        name: s.name,
        template: s.template,
        runId: run.id,
        tickAt: tickAt.toISOString(),
      });
    }
    if (state !== "active")
      this.bus.emit("schedule.state_changed", { scheduleId: s.id, name: s.name, state });
    return run ? "fired" : "skipped";
  }

  /**
   * The run of a claimed tick, inside the tick's transaction. A tick whose run cannot be created
   * (the template was deleted, or its new version no longer fits the input) stays recorded with
   * no run and the schedule moves on: a broken tick is reported, never retried every pass.
   */
  private async startRun(
    tx: Tx,
    s: ScheduleRow,
    tickAt: Date,
  ): Promise<{ id: string; template: StoredTemplate } | null> {
    const started = await withSavepoint(
      tx,
      "schedule_run",
      async () => {
        const run = await this.pipelines.executeIn(tx, s.template, { input: s.input, scheduleId: s.id });
        await scheduleStore.setTickRun(tx, s.id, tickAt, run.id);
        return run;
      },
      // Only a refusal (unknown template, input that no longer fits) is final for this tick. Anything
      // else (a deadlock, a lost connection) rolls the whole tick back, so it is tried again.
      (error) => error instanceof OverseerError,
    );
    if (started.ok) return started.value;
    this.onError(started.error, `schedule ${s.name}: tick ${tickAt.toISOString()} started no run`);
    return null;
  }

  /** What follows a tick: the first cron tick after now (skipping any missed), or done for a one-off. */
  private after(s: ScheduleRow, tickAt: Date, now: Date): { state: ScheduleState; nextRunAt: Date | null } {
    if (!s.cron) return { state: "done", nextRunAt: null };
    try {
      const from = now.getTime() > tickAt.getTime() ? now : tickAt;
      return { state: "active", nextRunAt: nextTick(s.cron, s.timezone, from) };
    } catch (error) {
      // Validated when created; should node-cron ever disagree later, stop instead of failing every pass.
      this.onError(error, `schedule ${s.name}: no next tick; paused`);
      return { state: "paused", nextRunAt: null };
    }
  }

  private async audit(
    c: Tx,
    actor: string,
    action: string,
    row: ScheduleRow,
    reason?: string,
    data: Record<string, unknown> = { name: row.name },
    requestId?: string,
  ): Promise<void> {
    await auditLog.record(c, {
      actor,
      action: `schedule.${action}`,
      targetKind: "schedule",
      targetId: row.id,
      reason,
      requestId,
      data,
    });
  }

  private operatorAction(actor: string, action: "create" | "delete" | "pause" | "resume", id: string): void {
    this.bus.emit("operator.action", {
      actor,
      action: `schedule.${action}`,
      targetKind: "schedule",
      targetId: id,
    });
  }
}

const notFound = (id: string) => new OverseerError("OVS_ERR_SCHEDULE_NOT_FOUND", `no schedule ${id}`);
