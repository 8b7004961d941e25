import { randomUUID } from "node:crypto";
import type { OverrideImpact, OverrideReply, OverrideView } from "../../contract/schemas/overrides.ts";
import { confirmations } from "../control/confirmations.ts";
import { OverseerError } from "../errors/overseer-error.ts";
import type { EventBus } from "../events/event-bus.ts";
import { auditLog } from "../store/audit-log.ts";
import { leaseReads } from "../store/lease-reads-store.ts";
import { overridesStore } from "../store/overrides-store.ts";
import { type Db, withTransaction } from "../store/pg-pool.ts";
import type { HeartbeatStore } from "../store/redis/heartbeat-store.ts";
import type { TaskQueues } from "../store/redis/task-queues.ts";
import { taskReads } from "../store/task-reads-store.ts";
import type { EnqueueOrder } from "../store/task-rows.ts";
import type { TaskStore } from "../store/task-store.ts";
import type { TaskDispatch } from "../tasks/task-dispatch.ts";
import type { TaskService } from "../tasks/task-service.ts";
import type { OverrideGate } from "./override-gate.ts";
import {
  conflictsWithActive,
  expiryOf,
  isLasting,
  OVERRIDE_SCOPE,
  type OverrideAction,
  undoRefusal,
} from "./override-rules.ts";

export interface OverrideRequest {
  action: OverrideAction;
  reason: string;
  expiresInMs?: number;
  confirmationToken?: string;
}

/** Who asked, and under which request id (for the audit log). */
export interface Caller {
  actor: string;
  requestId: string;
}

export type { OverrideReply };

/** A confirmation lives this long: enough to read the impact, short enough not to be reused later. */
export const OVERRIDE_CONFIRMATION_TTL_MS = 120_000;

/**
 * Emergency overrides (docs/overrides.md): a dry run predicts the impact and issues a confirmation
 * token; the execute call presents it. State is in Postgres, so any replica can confirm, undo or
 * expire; every step is audited, evented and counted.
 */
export class OverrideService {
  constructor(
    private readonly db: Db,
    private readonly tasks: TaskService,
    /** The writer of `tasks` and `task_archive`: clear_task_queue archives and restores through it. */
    private readonly taskStore: TaskStore,
    private readonly dispatcher: TaskDispatch,
    private readonly queues: TaskQueues,
    private readonly liveness: HeartbeatStore,
    private readonly bus: EventBus,
    readonly gate: OverrideGate,
    /** Moves a live agent to `draining` (AgentService.move). */
    private readonly drainAgent: (agentId: string, reason: string) => Promise<unknown>,
    private readonly onError: (error: unknown, context: string) => void,
    private readonly now: () => Date = () => new Date(),
    private readonly newId: () => string = randomUUID,
  ) {}

  async request(input: OverrideRequest, caller: Caller): Promise<OverrideReply> {
    const now = this.now();
    const expiry = expiryOf(input.action, input.expiresInMs, now);
    if ("problem" in expiry) throw new OverseerError("OVS_ERR_VALIDATION", expiry.problem);
    if (!input.reason.trim()) throw new OverseerError("OVS_ERR_VALIDATION", "reason must not be blank");
    const params = { action: input.action, reason: input.reason, expiresInMs: input.expiresInMs ?? null };
    if (input.confirmationToken === undefined) return this.dryRun(input.action, params, caller, now);
    return this.execute(input, params, expiry.expiresAt, caller, now);
  }

  private async dryRun(
    action: OverrideAction,
    params: Record<string, unknown>,
    caller: Caller,
    now: Date,
  ): Promise<OverrideReply> {
    const impact = await this.impactOf(action);
    const issued = await withTransaction(this.db, async (c) => {
      const token = await confirmations.issue(
        c,
        {
          action: `override:${action}`,
          params,
          actor: caller.actor,
          impact,
          ttlMs: OVERRIDE_CONFIRMATION_TTL_MS,
        },
        now,
      );
      await auditLog.record(c, {
        actor: caller.actor,
        action: "override.dry_run",
        targetKind: "override",
        targetId: action,
        reason: String(params.reason),
        requestId: caller.requestId,
        impact,
      });
      return token;
    });
    this.bus.emit("override.step", {
      overrideId: null,
      action,
      actor: caller.actor,
      outcome: "dry_run",
      reason: String(params.reason),
      scope: OVERRIDE_SCOPE[action],
    });
    return {
      dryRun: true,
      action,
      impact,
      confirmationToken: issued.token,
      confirmationExpiresAt: issued.expiresAt,
    };
  }

  private async execute(
    input: OverrideRequest,
    params: Record<string, unknown>,
    expiresAt: Date | null,
    caller: Caller,
    now: Date,
  ): Promise<OverrideReply> {
    const { action } = input;
    const id = this.newId();
    let archived: Array<{ id: string; type: string }> = [];
    let override: OverrideView;
    try {
      override = await withTransaction(this.db, async (c) => {
        // One override decision at a time, so two confirmations cannot both start the same action.
        await overridesStore.lockDecisions(c);
        const { impact } = await confirmations.consume(
          c,
          {
            token: input.confirmationToken as string,
            action: `override:${action}`,
            params,
            actor: caller.actor,
          },
          now,
        );
        if (conflictsWithActive(action, await overridesStore.activeActions(c))) {
          throw new OverseerError(
            "OVS_ERR_OVERRIDE_STATE_CONFLICT",
            `${action} is already active; undo it or let it expire first`,
          );
        }
        const row = await overridesStore.insert(c, {
          id,
          action,
          state: isLasting(action) ? "active" : "done",
          reason: input.reason,
          actor: caller.actor,
          startedAt: now,
          expiresAt,
          impact,
        });
        if (action === "clear_task_queue") {
          archived = await this.taskStore.archiveQueued(c, id);
          await overridesStore.addImpact(c, id, { archived: archived.length });
        }
        await auditLog.record(c, {
          actor: caller.actor,
          action: `override.${action}`,
          targetKind: "override",
          targetId: id,
          reason: input.reason,
          requestId: caller.requestId,
          impact,
          data: { expiresAt: row.expiresAt, archivedTasks: archived.length || undefined },
        });
        return row;
      });
    } catch (error) {
      if (error instanceof OverseerError) await this.rejected(input, error, caller);
      throw error;
    }
    // Committed: now the Redis side, which a crash may leave half done (the reconciler and
    // the claim path tolerate stale dispatch entries; see docs/overrides.md).
    for (const t of archived) {
      await this.queues.remove(t.type, t.id).catch((e) => this.onError(e, "remove archived job"));
    }
    if (action === "restart_all_agents") {
      const applied = await this.restartAll(id);
      override.impact = { ...override.impact, applied };
      await overridesStore
        .addImpact(this.db, id, { applied })
        .catch((e) => this.onError(e, "record restart impact"));
    }
    if (action === "clear_task_queue") override.impact = { ...override.impact, archived: archived.length };
    await this.gate.refresh();
    this.bus.emit("override.step", {
      overrideId: id,
      action,
      actor: caller.actor,
      outcome: "executed",
      reason: input.reason,
      scope: OVERRIDE_SCOPE[action],
    });
    return { dryRun: false, override };
  }

  /**
   * A confirmation that failed (bad, used, expired or foreign token; a conflicting active override)
   * rolled its transaction back, so it is audited in one of its own: who tried, which action, and
   * why it failed. No override was created, so the target is the action, as for a dry run. An audit
   * that cannot be written is reported, never put in place of the operator's 409.
   */
  private async rejected(input: OverrideRequest, error: OverseerError, caller: Caller): Promise<void> {
    await withTransaction(this.db, (c) =>
      auditLog.record(c, {
        actor: caller.actor,
        action: "override.confirmation_failed",
        targetKind: "override",
        targetId: input.action,
        reason: error.message,
        requestId: caller.requestId,
        data: { code: error.code, operatorReason: input.reason, expiresInMs: input.expiresInMs ?? null },
      }),
    ).catch((e) => this.onError(e, "audit a failed override confirmation"));
    this.bus.emit("override.step", {
      overrideId: null,
      action: input.action,
      actor: caller.actor,
      outcome: "rejected",
      reason: error.message,
      scope: OVERRIDE_SCOPE[input.action],
    });
  }

  /** Ends an active override by an operator's undo; 409 for one that is not active. */
  async undo(id: string, reason: string, caller: Caller): Promise<OverrideView> {
    if (!reason.trim()) throw new OverseerError("OVS_ERR_VALIDATION", "reason must not be blank");
    const existing = await overridesStore.get(this.db, id);
    if (!existing) throw new OverseerError("OVS_ERR_OVERRIDE_NOT_FOUND", `no override ${id}`);
    const refusal = undoRefusal(existing);
    if (refusal) throw new OverseerError("OVS_ERR_OVERRIDE_STATE_CONFLICT", refusal);
    const ended = await this.end(id, "undone", caller, reason);
    if (!ended) {
      const now = await overridesStore.get(this.db, id);
      throw new OverseerError(
        "OVS_ERR_OVERRIDE_STATE_CONFLICT",
        `the override is already ${now?.state ?? "ended"}`,
      );
    }
    return ended;
  }

  async list(opts: {
    state?: "active" | "done" | "undone" | "expired";
    limit: number;
  }): Promise<OverrideView[]> {
    return overridesStore.list(this.db, opts);
  }

  /**
   * Level-triggered expiry, run on every replica: each due override is ended by a conditional
   * UPDATE, so however many replicas look, it reverts once. Returns how many this pass ended.
   */
  async expireDue(limit = 100): Promise<number> {
    const due = await overridesStore.dueForExpiry(this.db, this.now(), limit);
    let ended = 0;
    for (const id of due) {
      const done = await this.end(id, "expired", { actor: "system:expiry", requestId: "" }, "expiry reached");
      if (done) ended++;
    }
    await this.gate.refresh();
    return ended;
  }

  private async end(
    id: string,
    to: "undone" | "expired",
    caller: Caller,
    reason: string,
  ): Promise<OverrideView | null> {
    let restored: EnqueueOrder[] = [];
    const ended = await withTransaction(this.db, async (c) => {
      const row = await overridesStore.end(c, id, to, caller.actor, this.now());
      if (!row) return null;
      if (row.action === "clear_task_queue") restored = await this.taskStore.restoreArchived(c, id);
      await auditLog.record(c, {
        actor: caller.actor,
        action: to === "undone" ? "override.undo" : "override.expired",
        targetKind: "override",
        targetId: id,
        reason,
        requestId: caller.requestId || null,
        impact: row.action === "clear_task_queue" ? { restoredTasks: restored.length } : row.impact,
        data: { overrideAction: row.action },
      });
      return row;
    });
    if (!ended) return null;
    if (restored.length > 0) await this.dispatcher.dispatch(restored);
    if (ended.action === "clear_task_queue") {
      await overridesStore
        .addImpact(this.db, id, { restored: restored.length })
        .catch((e) => this.onError(e, "record restore impact"));
    }
    if (ended.action === "clear_task_queue") ended.impact = { ...ended.impact, restored: restored.length };
    await this.gate.refresh();
    this.bus.emit("override.step", {
      overrideId: id,
      action: ended.action,
      actor: caller.actor,
      outcome: to,
      reason,
      scope: OVERRIDE_SCOPE[ended.action],
    });
    return ended;
  }

  /** The impact a dry run predicts, from the stores as they are now. */
  private async impactOf(action: OverrideAction): Promise<OverrideImpact> {
    const counts = await taskReads.liveCounts(this.db);
    switch (action) {
      case "stop_all_tasks":
        return {
          claimsPaused: true,
          queuedTasksHeld: counts.queued,
          activeTasksUnaffected: counts.active,
          note: "claims return no tasks until undone or expired; leases in flight finish or are released",
        };
      case "restart_all_agents":
        return {
          agentsToRestart: counts.liveAgents,
          leasesToRelease: counts.active,
          note: "each live agent's leases are released, then it gets a restart command in its next heartbeat",
        };
      case "clear_task_queue":
        return {
          tasksToArchive: counts.queued,
          byType: Object.fromEntries(
            (await taskReads.queuedByType(this.db)).map((q) => [q.type, q.ready + q.delayed]),
          ),
          note: "queued tasks move to the archive (state archived); undo puts them back; nothing is deleted",
        };
      case "system_maintenance":
        return {
          submitsRefused: true,
          queuedTasks: counts.queued,
          activeTasks: counts.active,
          liveAgents: counts.liveAgents,
          note: "task submits and pipeline executes answer 503; reads, claims and agents' reports continue",
        };
    }
  }

  /**
   * Releases every live agent's leases (so no task waits on an agent about to restart), tells it to
   * drop those tasks, then queues a restart command for its next heartbeat.
   */
  private async restartAll(overrideId: string): Promise<{ agents: number; leasesReleased: number }> {
    const agents = await leaseReads.liveAgentsWithLeases(this.db);
    let released = 0;
    for (const row of agents) {
      // Draining first: a released task goes straight back to the queue, and an agent still `active`
      // could claim it again before its next heartbeat brings the restart (and the cancels).
      await this.drainAgent(row.agentId, "restart_all_agents").catch((e) =>
        this.onError(e, `drain ${row.agentId} before restart`),
      );
      for (let i = 0; i < row.taskIds.length; i++) {
        const taskId = row.taskIds[i] as string;
        try {
          await this.tasks.release(taskId, row.tokens[i] as string, row.agentId);
          released++;
          await this.liveness.pushCommand(row.agentId, {
            type: "cancel",
            taskId,
            reason: "restart_all_agents",
          });
        } catch (error) {
          // The lease ended meanwhile (completed, timed out): nothing left to release.
          if (!(error instanceof OverseerError)) this.onError(error, `release ${taskId} before restart`);
        }
      }
      await this.liveness
        .pushCommand(row.agentId, { type: "restart", reason: "restart_all_agents", overrideId })
        .catch((e) => this.onError(e, "push restart"));
    }
    return { agents: agents.length, leasesReleased: released };
  }
}
