import type {
  ReassignReply,
  ResetImpact,
  ResetReply,
  ResetResult,
} from "../../contract/schemas/coordination.ts";
import { confirmations } from "../control/confirmations.ts";
import { OverseerError } from "../errors/overseer-error.ts";
import type { EventBus } from "../events/event-bus.ts";
import { auditLog } from "../store/audit-log.ts";
import { leaseReads } from "../store/lease-reads-store.ts";
import { type Db, withTransaction } from "../store/pg-pool.ts";
import type { CoordinationRedis } from "../store/redis/coordination-redis.ts";
import type { HeartbeatStore } from "../store/redis/heartbeat-store.ts";
import type { TaskQueues } from "../store/redis/task-queues.ts";
import { taskReads } from "../store/task-reads-store.ts";
import type { TaskStore } from "../store/task-store.ts";
import type { Reconciler } from "../tasks/reconciler.ts";
import type { TaskService } from "../tasks/task-service.ts";
import { type Candidate, checkNamed, pickLeastLoaded } from "./pick-agent.ts";
import { type ResetLevel, type ResetSnapshot, resetImpact } from "./reset-plan.ts";

const RESET_ACTION = "coordination.reset";
const LIVE = ["active", "stale", "draining"];

export interface Caller {
  actor: string;
  requestId: string;
}

export interface CoordinationDeps {
  db: Db;
  tasks: TaskService;
  /** The writer of `tasks`: the reassignment's lock and release. */
  taskStore: TaskStore;
  queues: TaskQueues;
  reconciler: Reconciler;
  liveness: HeartbeatStore;
  redis: CoordinationRedis;
  bus: EventBus;
  /** Whether auto-heal quarantined an agent name (recovery/dispatch-gate.ts); none when absent. */
  quarantined?: (name: string) => boolean;
  now?: () => number;
}

/**
 * The coordination levers (docs/coordination.md): the three reset levels (two steps: a dry run with
 * a confirmation token, then the execution) and reassigning a task; both audited. The operator
 * retry is TaskService.retryByOperator; the reads are CoordinationReads.
 */
export class CoordinationService {
  private readonly now: () => number;

  constructor(private readonly d: CoordinationDeps) {
    this.now = d.now ?? Date.now;
  }

  private async resetSnapshot(): Promise<ResetSnapshot> {
    const db = this.d.db;
    const agents = await leaseReads.agentLoads(db);
    const queued = await taskReads.queuedByType(db);
    let orphaned = await leaseReads.countOfUnknownHolders(db);
    let inactive = 0;
    for (const a of agents) {
      if (a.state === "dead" || a.state === "left") orphaned += a.leases;
      if (a.state === "stale" || a.state === "draining") inactive += a.leases;
    }
    return {
      orphanedLeases: orphaned,
      queuedTasks: queued.reduce((n, q) => n + q.ready + q.delayed, 0),
      leasesOfInactiveAgents: inactive,
      liveAgents: agents.filter((a) => LIVE.includes(a.state)).length,
      activeAgents: agents.filter((a) => a.state === "active" || a.state === "stale").length,
    };
  }

  /** Dry run without a token (impact and a confirmation token); with one, the reset itself. */
  async reset(
    input: { level: ResetLevel; reason: string; confirmationToken?: string },
    caller: Caller,
  ): Promise<ResetReply> {
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
        dryRun: true,
        action: RESET_ACTION,
        level: input.level,
        impact,
        confirmationToken: issued.token,
        confirmationExpiresAt: issued.expiresAt,
      };
    }
    const consumed = await withTransaction(this.d.db, (client) =>
      confirmations.consume(client, {
        token: input.confirmationToken as string,
        action: RESET_ACTION,
        params,
        actor: caller.actor,
      }),
    );
    // The token was issued by a dry run of this action, level and reason (consume checked all three),
    // which kept the impact it predicted: resetImpact's answer.
    const impact = consumed.impact as ResetImpact;
    const startedAt = new Date(this.now()).toISOString();
    let result: ResetResult;
    try {
      result = await this.executeReset(input.level, input.reason);
    } catch (error) {
      // Audited whatever happened: a reset that failed half way is exactly what the log must show.
      await this.recordReset(input, caller, impact, { result: {}, error: errorText(error), startedAt });
      throw error;
    }
    await this.recordReset(input, caller, impact, { result, error: null, startedAt });
    return {
      dryRun: false,
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

  /** The audit record and the event of an executed reset, successful or not. */
  private async recordReset(
    input: { level: ResetLevel; reason: string },
    caller: Caller,
    impact: ResetImpact,
    data: { result: ResetResult | Record<string, never>; error: string | null; startedAt: string },
  ): Promise<void> {
    await auditLog.record(this.d.db, {
      actor: caller.actor,
      action: RESET_ACTION,
      targetKind: "coordination",
      targetId: input.level,
      reason: input.reason,
      requestId: caller.requestId,
      impact,
      data,
    });
    this.d.bus.emit("operator.action", {
      actor: caller.actor,
      action: RESET_ACTION,
      targetKind: "coordination",
      targetId: input.level,
    });
  }

  private async executeReset(level: ResetLevel, reason: string): Promise<ResetResult> {
    const result: ResetResult = { reconcile: await this.d.reconciler.run() };
    if (level === "soft") return result;

    let released = 0;
    for (const lease of await leaseReads.ofInactiveAgents(this.d.db)) {
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
    const leases = await leaseReads.byAgent(this.d.db);
    const live = (await leaseReads.agentLoads(this.d.db))
      .filter((a) => LIVE.includes(a.state))
      .map((a) => ({
        id: a.id,
        state: a.state,
        lastHeartbeatAt: a.lastHeartbeatAt,
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
    const agents = await leaseReads.agentLoads(this.d.db);
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
  async reassign(
    taskId: string,
    input: { agentId?: string; reason: string },
    caller: Caller,
  ): Promise<ReassignReply> {
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
      const row = await this.d.taskStore.lockForOperator(client, taskId);
      if (!row || (row.state !== "queued" && row.state !== "active") || row.lease_agent_id !== holder) {
        throw new OverseerError(
          "OVS_ERR_TASK_STATE_CONFLICT",
          `task ${taskId} changed while it was being reassigned; try again`,
          {
            state: row?.state ?? null,
          },
        );
      }
      await this.d.taskStore.releaseForReassign(client, taskId, row.lease_token);
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
    const row = await leaseReads.agentLoad(this.d.db, agentId);
    if (!row) return undefined;
    return {
      id: row.id,
      state: row.state,
      mirrorState: null,
      quarantined: this.d.quarantined?.(row.name) ?? false,
      capabilities: row.capabilities,
      concurrency: row.concurrency,
      leases: row.leases,
    };
  }
}

const errorText = (error: unknown) => (error as Error)?.message ?? String(error);
