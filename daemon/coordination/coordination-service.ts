import { MAX_PRIORITY } from "../../contract/schemas/common.ts";
import { confirmations } from "../control/confirmations.ts";
import { OverseerError } from "../errors/overseer-error.ts";
import type { EventBus } from "../events/event-bus.ts";
import { auditLog } from "../store/audit-log.ts";
import { type Db, withTransaction } from "../store/pg-pool.ts";
import type { CoordinationRedis } from "../store/redis/coordination-redis.ts";
import type { HeartbeatStore } from "../store/redis/heartbeat-store.ts";
import type { TaskQueues } from "../store/redis/task-queues.ts";
import type { Reconciler } from "../tasks/reconciler.ts";
import type { TaskDispatch } from "../tasks/task-dispatch.ts";
import type { TaskService } from "../tasks/task-service.ts";
import { coordinationSql as sql } from "./coordination-store.ts";
import {
  type DiagnosticsSnapshot,
  diagnose,
  type LoopStatus,
  overall,
  type StoreProbe,
} from "./diagnostics-findings.ts";
import {
  classifyFailure,
  FAILURE_CLASSES,
  type FailureClass,
  RECOMMENDATIONS,
} from "./failure-classifier.ts";
import { type Candidate, checkNamed, pickLeastLoaded } from "./pick-agent.ts";
import { type ResetLevel, type ResetSnapshot, resetImpact } from "./reset-plan.ts";
import { SUCCESS_WINDOWS, successRate, windowView } from "./success-rate.ts";

export const FAILURE_WINDOWS = { "1h": 3_600_000, "24h": 86_400_000, "7d": 604_800_000 } as const;
export const LOG_WINDOWS = { "5m": 300_000, ...FAILURE_WINDOWS } as const;
/** Failure groups read per request; more distinct (outcome, category, code, message) groups are reported as truncated. */
const MAX_FAILURE_GROUPS = 2_000;
const RESET_ACTION = "coordination.reset";

export interface Caller {
  actor: string;
  requestId: string;
}

export interface CoordinationDeps {
  db: Db;
  tasks: TaskService;
  dispatch: TaskDispatch;
  queues: TaskQueues;
  reconciler: Reconciler;
  liveness: HeartbeatStore;
  redis: CoordinationRedis;
  bus: EventBus;
  /** The daemon's interval loops, for the diagnostics. */
  loops: () => LoopStatus[];
  sweepIntervalMs: number;
  /** Whether auto-heal quarantined an agent name (recovery/dispatch-gate.ts); none when absent. */
  quarantined?: (name: string) => boolean;
  now?: () => number;
}

const timed = async (f: () => Promise<unknown>): Promise<StoreProbe> => {
  const start = performance.now();
  try {
    await f();
    return { ok: true, latencyMs: Math.round((performance.now() - start) * 10) / 10 };
  } catch (error) {
    return { ok: false, latencyMs: null, error: (error as Error)?.message ?? String(error) };
  }
};

/**
 * Coordination reads and levers (docs/coordination.md): success rate, failures by class,
 * diagnostics, the three reset levels, reassign and retry. Reads come from Postgres (the system of
 * record); decisions are in the pure modules beside this one.
 */
export class CoordinationService {
  private readonly now: () => number;

  constructor(private readonly d: CoordinationDeps) {
    this.now = d.now ?? Date.now;
  }

  async successRate() {
    const counts = await sql.windowCounts(this.d.db, SUCCESS_WINDOWS);
    const windows: Record<string, ReturnType<typeof windowView>> = {};
    for (const [name, len] of Object.entries(SUCCESS_WINDOWS)) {
      const c = counts[name];
      if (c) windows[name] = windowView(len, c.current, c.previous);
    }
    const hourly = (await sql.hourly(this.d.db)).map((h) => ({
      hourStart: h.hourStart,
      completed: h.counts.completed,
      failed: h.counts.failed + h.counts.timedOut + h.counts.lost,
      rate: successRate(h.counts),
    }));
    const { live, ...rest } = windows;
    return { live: live ?? null, windows: rest, hourly, checkedAt: new Date(this.now()).toISOString() };
  }

  async failures(window: keyof typeof FAILURE_WINDOWS) {
    const { groups, total } = await sql.failureGroups(this.d.db, FAILURE_WINDOWS[window], MAX_FAILURE_GROUPS);
    const byClass = new Map<FailureClass, { count: number; examples: (typeof groups)[number]["examples"] }>();
    for (const cls of FAILURE_CLASSES) byClass.set(cls, { count: 0, examples: [] });
    let classified = 0;
    for (const g of groups) {
      const cls = classifyFailure(g);
      const entry = byClass.get(cls) as { count: number; examples: typeof g.examples };
      entry.count += g.count;
      entry.examples.push(...g.examples);
      classified += g.count;
    }
    const classes = FAILURE_CLASSES.map((cls) => {
      const e = byClass.get(cls) as { count: number; examples: (typeof groups)[number]["examples"] };
      return {
        class: cls,
        count: e.count,
        share: total === 0 ? null : e.count / total,
        examples: e.examples.sort((a, b) => b.at.localeCompare(a.at)).slice(0, 5),
        recommendation: RECOMMENDATIONS[cls],
      };
    }).sort((a, b) => b.count - a.count);
    return {
      window,
      windowMs: FAILURE_WINDOWS[window],
      total,
      // More distinct failure groups than one read takes: these failures are counted in total only.
      unclassified: total - classified,
      classes,
    };
  }

  async errorLog(window: keyof typeof LOG_WINDOWS, limit: number) {
    const events = await sql.errorEvents(this.d.db, LOG_WINDOWS[window], limit);
    const groups = new Map<
      string,
      { pattern: string; count: number; latestAt: string; events: typeof events }
    >();
    for (const e of events) {
      const pattern =
        e.kind === "operator_reassign"
          ? "operator_reassign"
          : classifyFailure({ ...e, outcome: e.outcome === "dead" ? "failed" : e.outcome });
      const g = groups.get(pattern) ?? { pattern, count: 0, latestAt: e.at, events: [] };
      g.count++;
      g.events.push(e);
      groups.set(pattern, g);
    }
    return {
      window,
      limit,
      total: events.length,
      groups: [...groups.values()]
        .sort((a, b) => b.count - a.count)
        .map((g) => ({
          ...g,
          recommendation: g.pattern in RECOMMENDATIONS ? RECOMMENDATIONS[g.pattern as FailureClass] : null,
        })),
      // Lease conflicts are not kept in Postgres: they are counted by overseer_lease_conflicts_total.
      sources: [
        "task_attempts (failed, timed_out, lost)",
        "tasks (dead letters)",
        "audit_log (task.reassign)",
      ],
    };
  }

  async distribution() {
    const rows = await sql.tasksByStateAndType(this.d.db);
    const byState: Record<string, number> = {};
    const byType: Record<string, Record<string, number>> = {};
    for (const r of rows) {
      byState[r.state] = (byState[r.state] ?? 0) + r.count;
      const t = byType[r.type] ?? { total: 0 };
      t[r.state] = r.count;
      t.total = (t.total ?? 0) + r.count;
      byType[r.type] = t;
    }
    const agents = (await sql.agentLoads(this.d.db)).map((a) => ({
      agentId: a.id,
      name: a.name,
      role: a.role,
      state: a.state,
      concurrency: a.concurrency,
      leases: a.leases,
      load: a.leases / Math.max(1, a.concurrency),
    }));
    return { byState, byType, agents };
  }

  async agentMetrics(agentId: string) {
    const row = await sql.agentRow(this.d.db, agentId);
    if (!row) throw new OverseerError("OVS_ERR_AGENT_NOT_FOUND", `no agent ${agentId}`);
    const windows = await sql.agentWindows(this.d.db, agentId, { "1h": 3_600_000, "24h": 86_400_000 });
    const shaped: Record<string, unknown> = {};
    for (const [name, w] of Object.entries(windows)) {
      const c = {
        completed: w.completed ?? 0,
        failed: w.failed ?? 0,
        timedOut: w.timedOut ?? 0,
        lost: w.lost ?? 0,
      };
      shaped[name] = {
        completed: c.completed,
        failed: c.failed + c.timedOut + c.lost,
        byOutcome: { failed: c.failed, timedOut: c.timedOut, lost: c.lost },
        successRate: successRate(c),
        meanDurationMs: w.meanDurationMs,
        meanCompletedDurationMs: w.meanCompletedDurationMs,
      };
    }
    const ages = await this.d.redis.heartbeatAges([agentId]).catch(() => new Map<string, number>());
    const redisAge = ages.get(agentId);
    return {
      agentId,
      name: row.name,
      role: row.role,
      state: row.state,
      concurrency: row.concurrency,
      currentLeases: Number(row.leases),
      heartbeat:
        redisAge !== undefined
          ? { ageMs: redisAge, source: "redis" }
          : { ageMs: Math.max(0, this.now() - row.last_heartbeat_at.getTime()), source: "postgres" },
      windows: shaped,
    };
  }

  async diagnostics() {
    const db = this.d.db;
    const stores = {
      postgres: await timed(() => db.query("SELECT 1")),
      redis: await timed(() => this.d.redis.ping()),
    };
    const snapshot: DiagnosticsSnapshot = {
      nowMs: this.now(),
      queues: [],
      activeLeases: 0,
      expiredLeases: { count: 0, oldestOverdueMs: 0 },
      mirrors: [],
      agents: [],
      stores,
      loops: this.d.loops(),
      sweepIntervalMs: this.d.sweepIntervalMs,
    };
    if (stores.postgres.ok) {
      const agents = await sql.agentLoads(db);
      const queued = await sql.queuedByType(db);
      const types = new Set([...queued.map((q) => q.type), ...agents.flatMap((a) => a.capabilities)]);
      for (const type of [...types].sort().slice(0, 200)) {
        const q = queued.find((x) => x.type === type);
        const bull = stores.redis.ok ? await this.d.queues.jobCounts(type).catch(() => null) : null;
        snapshot.queues.push({ type, pgReady: q?.ready ?? 0, pgDelayed: q?.delayed ?? 0, bull });
      }
      const expired = await sql.expiredLeases(db);
      snapshot.activeLeases = expired.active;
      snapshot.expiredLeases = { count: expired.count, oldestOverdueMs: expired.oldestOverdueMs };
      if (stores.redis.ok) {
        const ids = agents.map((a) => a.id);
        const mirror = await this.d.liveness.states(ids);
        const ages = await this.d.redis.heartbeatAges(ids);
        const live = agents.filter((a) => ["active", "stale", "draining"].includes(a.state));
        const pgLeases = await sql.leasesByAgent(db);
        const redisLeases = await this.d.redis.leaseSets(live.map((a) => a.id));
        for (const a of live) {
          const pg = new Set(pgLeases.get(a.id) ?? []);
          const rs = new Set(redisLeases.get(a.id) ?? []);
          snapshot.mirrors.push({
            agentId: a.id,
            postgresLeases: pg.size,
            missingInRedis: [...pg].filter((id) => !rs.has(id)).length,
            extraInRedis: [...rs].filter((id) => !pg.has(id)).length,
          });
        }
        snapshot.agents = agents.map((a) => ({
          id: a.id,
          state: a.state,
          mirrorState: mirror.get(a.id) ?? null,
          leases: a.leases,
          heartbeatAgeMs: ages.get(a.id) ?? null,
        }));
      }
    }
    const findings = diagnose(snapshot);
    return {
      status: overall(findings),
      findings,
      checked: {
        stores: snapshot.stores,
        queues: snapshot.queues,
        leases: { active: snapshot.activeLeases, expired: snapshot.expiredLeases },
        agents: snapshot.agents.length,
        loops: snapshot.loops,
      },
      checkedAt: new Date(snapshot.nowMs).toISOString(),
    };
  }

  private async resetSnapshot(): Promise<ResetSnapshot> {
    const db = this.d.db;
    const agents = await sql.agentLoads(db);
    const queued = await sql.queuedByType(db);
    let orphaned = await sql.leasesOfUnknownAgents(db);
    let inactive = 0;
    for (const a of agents) {
      if (a.state === "dead" || a.state === "left") orphaned += a.leases;
      if (a.state === "stale" || a.state === "draining") inactive += a.leases;
    }
    return {
      orphanedLeases: orphaned,
      queuedTasks: queued.reduce((n, q) => n + q.ready + q.delayed, 0),
      leasesOfInactiveAgents: inactive,
      liveAgents: agents.filter((a) => ["active", "stale", "draining"].includes(a.state)).length,
      activeAgents: agents.filter((a) => a.state === "active" || a.state === "stale").length,
    };
  }

  /** Dry run without a token (impact and a confirmation token); with one, the reset itself. */
  async reset(input: { level: ResetLevel; reason: string; confirmationToken?: string }, caller: Caller) {
    // The reason is part of what was confirmed: the execute call cannot swap it for another.
    const params = { level: input.level, reason: input.reason };
    if (!input.confirmationToken) {
      const impact = resetImpact(input.level, await this.resetSnapshot());
      const issued = await confirmations.issue(this.d.db, {
        action: RESET_ACTION,
        params,
        actor: caller.actor,
        impact,
      });
      return {
        dryRun: true as const,
        action: RESET_ACTION,
        level: input.level,
        impact,
        confirmationToken: issued.token,
        confirmationExpiresAt: issued.expiresAt,
      };
    }
    const { impact } = await withTransaction(this.d.db, (client) =>
      confirmations.consume(client, {
        token: input.confirmationToken as string,
        action: RESET_ACTION,
        params,
        actor: caller.actor,
      }),
    );
    const startedAt = new Date(this.now()).toISOString();
    let result: Record<string, unknown> = {};
    let failure: string | null = null;
    try {
      result = await this.executeReset(input.level, input.reason);
    } catch (error) {
      failure = (error as Error)?.message ?? String(error);
      throw error;
    } finally {
      // Audited whatever happened: a reset that failed half way is exactly what the log must show.
      await auditLog.record(this.d.db, {
        actor: caller.actor,
        action: RESET_ACTION,
        targetKind: "coordination",
        targetId: input.level,
        reason: input.reason,
        requestId: caller.requestId,
        impact,
        data: { result, error: failure, startedAt },
      });
      this.d.bus.emit("operator.action", {
        actor: caller.actor,
        action: RESET_ACTION,
        targetKind: "coordination",
        targetId: input.level,
      });
    }
    return {
      dryRun: false as const,
      reset: {
        level: input.level,
        reason: input.reason,
        actor: caller.actor,
        requestId: caller.requestId,
        startedAt,
        finishedAt: new Date(this.now()).toISOString(),
        impact,
        result,
      },
    };
  }

  private async executeReset(level: ResetLevel, reason: string): Promise<Record<string, unknown>> {
    const result: Record<string, unknown> = { reconcile: await this.d.reconciler.run() };
    if (level === "soft") return result;

    let released = 0;
    for (const lease of await sql.leasesOfInactiveAgents(this.d.db)) {
      try {
        await this.d.tasks.release(lease.taskId, lease.token, lease.agentId);
        released++;
        await this.d.liveness
          .pushCommand(lease.agentId, { type: "cancel", taskId: lease.taskId, reason: `reset: ${reason}` })
          .catch(() => {});
      } catch (error) {
        // The lease ended meanwhile (completed, failed, timed out): nothing left to release.
        if (!(error instanceof OverseerError)) throw error;
      }
    }
    result.releasedLeases = released;
    const leases = await sql.leasesByAgent(this.d.db);
    const live = (await sql.agentLoads(this.d.db))
      .filter((a) => ["active", "stale", "draining"].includes(a.state))
      .map((a) => ({
        id: a.id,
        state: a.state,
        lastHeartbeatAt: a.last_heartbeat_at,
        leases: leases.get(a.id) ?? [],
      }));
    result.mirrors = await this.d.redis.rebuild(live);
    if (level === "hard") return result;

    let drained = 0;
    for (const a of live) {
      if (a.state === "draining") continue;
      await this.d.liveness.pushCommand(a.id, { type: "drain", reason: `reset: ${reason}` });
      drained++;
    }
    result.drainCommands = drained;
    return result;
  }

  /** Candidates for a reassigned task: live agents with their loads and mirror states. */
  private async candidates(): Promise<Candidate[]> {
    const agents = await sql.agentLoads(this.d.db);
    const mirror = await this.d.liveness.states(agents.map((a) => a.id));
    return agents.map((a) => ({
      id: a.id,
      state: a.state,
      mirrorState: mirror.get(a.id) ?? null,
      quarantined: this.d.quarantined?.(a.name) ?? false,
      capabilities: a.capabilities,
      concurrency: a.concurrency,
      leases: a.leases,
    }));
  }

  /**
   * Takes a task from its current holder (the lease ends `released`, so the holder's next call
   * gets 409) and hands it to the named agent or the least-loaded capable active one: it is put on
   * that agent's directed list, which its next claim takes first. Until then it stays queued but off
   * its type's queue; if the agent does not claim it, the reconciler puts it back on the queue.
   */
  async reassign(taskId: string, input: { agentId?: string; reason: string }, caller: Caller) {
    const task = await this.d.tasks.get(taskId);
    if (task.state !== "queued" && task.state !== "active") {
      throw new OverseerError(
        "OVS_ERR_TASK_STATE_CONFLICT",
        `task ${taskId} is ${task.state}; only queued or active tasks can be reassigned`,
        {
          state: task.state,
        },
      );
    }
    const candidates = await this.candidates();
    const holder = task.leaseAgentId ?? null;
    const pick = input.agentId
      ? checkNamed(
          candidates.find((c) => c.id === input.agentId) ?? (await this.unlistedAgent(input.agentId)),
          task.type,
          holder,
        )
      : pickLeastLoaded(candidates, task.type, holder);
    if (!pick.ok) {
      throw new OverseerError(
        pick.code === "not_found" ? "OVS_ERR_AGENT_NOT_FOUND" : "OVS_ERR_AGENT_UNSUITABLE",
        pick.why,
      );
    }
    const target = pick.agentId;
    const locked = await withTransaction(this.d.db, async (client) => {
      const row = await sql.lockTask(client, taskId);
      if (!row || (row.state !== "queued" && row.state !== "active") || row.lease_agent_id !== holder) {
        throw new OverseerError(
          "OVS_ERR_TASK_STATE_CONFLICT",
          `task ${taskId} changed while it was being reassigned; try again`,
          {
            state: row?.state ?? null,
          },
        );
      }
      await sql.releaseForReassign(client, taskId, row.lease_token);
      await auditLog.record(client, {
        actor: caller.actor,
        action: "task.reassign",
        targetKind: "task",
        targetId: taskId,
        reason: input.reason,
        requestId: caller.requestId,
        impact: { fromAgentId: holder, toAgentId: target, releasedLease: row.lease_token !== null },
        data: { type: row.type, fromAgentId: holder, toAgentId: target, named: Boolean(input.agentId) },
      });
      return row;
    });
    // Off its type's queue so only the target takes it; after commit, so a failure here leaves the
    // task queued for the reconciler, never lost.
    await this.d.queues.remove(locked.type, taskId);
    await this.d.redis.assign(target, taskId, locked.type);
    if (holder) {
      await this.d.liveness
        .pushCommand(holder, { type: "cancel", taskId, reason: `reassigned: ${input.reason}` })
        .catch(() => {});
      await this.d.liveness.removeLease(holder, taskId).catch(() => {});
      this.d.bus.emit("task.requeued", {
        taskId,
        taskType: locked.type,
        agentId: holder,
        reason: "released",
        attempt: locked.attempts,
      });
    }
    this.d.bus.emit("operator.action", {
      actor: caller.actor,
      action: "task.reassign",
      targetKind: "task",
      targetId: taskId,
    });
    return {
      taskId,
      type: locked.type,
      fromAgentId: holder,
      toAgentId: target,
      state: "queued",
      reason: input.reason,
    };
  }

  private async unlistedAgent(agentId: string): Promise<Candidate | undefined> {
    const row = await sql.agentRow(this.d.db, agentId);
    if (!row) return undefined;
    return {
      id: row.id,
      state: row.state,
      mirrorState: null,
      quarantined: this.d.quarantined?.(row.name) ?? false,
      capabilities: row.capabilities,
      concurrency: row.concurrency,
      leases: Number(row.leases),
    };
  }

  /** Operator retry of a dead or failed task with a fresh attempt budget and an optional priority boost. */
  async retry(taskId: string, input: { reason?: string; priorityBoost?: number }, caller: Caller) {
    const boost = input.priorityBoost ?? 0;
    const done = await withTransaction(this.d.db, async (client) => {
      const row = await sql.lockTask(client, taskId);
      if (!row) throw new OverseerError("OVS_ERR_TASK_NOT_FOUND", `no task ${taskId}`);
      if (row.state !== "dead" && row.state !== "failed") {
        throw new OverseerError(
          "OVS_ERR_TASK_STATE_CONFLICT",
          `task ${taskId} is ${row.state}; only dead or failed tasks can be retried`,
          {
            state: row.state,
          },
        );
      }
      const priority = Math.min(MAX_PRIORITY, Math.max(0, row.priority + boost));
      await sql.retryWithPriority(client, taskId, priority);
      await auditLog.record(client, {
        actor: caller.actor,
        action: "task.retry",
        targetKind: "task",
        targetId: taskId,
        reason: input.reason ?? null,
        requestId: caller.requestId,
        impact: { from: row.state, priorityBefore: row.priority, priority },
        data: { type: row.type, priorityBoost: boost },
      });
      return { type: row.type, from: row.state, priorityBefore: row.priority, priority };
    });
    this.d.bus.emit("task.retried_by_operator", { taskId, taskType: done.type });
    this.d.bus.emit("operator.action", {
      actor: caller.actor,
      action: "task.retry",
      targetKind: "task",
      targetId: taskId,
    });
    await this.d.dispatch.dispatch([{ id: taskId, type: done.type, priority: done.priority, delayMs: 0 }]);
    return { taskId, state: "queued", ...done };
  }
}
