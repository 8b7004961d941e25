import type { HealReport } from "../../contract/schemas/recovery.ts";
import type { AgentService } from "../../daemon/agents/agent-service.ts";
import type { AuditService } from "../../daemon/control/audit-service.ts";
import type { EventBus } from "../../daemon/events/event-bus.ts";
import type { TaskService } from "../../daemon/tasks/task-service.ts";
import type { AgentRestarter } from "../agent-restart.ts";
import type { DispatchGate } from "../dispatch-gate.ts";
import type { ManagedSupervisor } from "../managed/managed-supervisor.ts";
import { applyHealLimits, type HealLimits } from "./heal-limits.ts";
import type { HealObserver } from "./heal-observer.ts";
import { type HealAction, type HealStrategy, planHeal } from "./heal-plan.ts";

export interface HealRequest {
  strategy: HealStrategy;
  dryRun: boolean;
  actor: string;
  requestId: string | null;
  trigger: "api" | "loop";
}

/** How long a heal waits for another replica's heal pass to finish before it gives up. */
export const HEAL_LOCK_WAIT_MS = 10_000;

/**
 * Runs one heal pass while no other replica of the namespace runs one, waiting at most
 * HEAL_LOCK_WAIT_MS for it (the composition root backs it with a Postgres advisory lock).
 */
export type OnePassAtATime = <T>(pass: () => Promise<T>) => Promise<T>;

/** What a heal pass answers (the contract's HealReport). */
export type { HealReport };

const TARGET_KIND: Record<HealAction["action"], string> = {
  requeue_orphaned_leases: "agent",
  retry_dead_task: "task",
  restart_managed_agent: "managed_agent",
  quarantine_agent: "agent_name",
  open_circuit: "task_type",
  drain_restart_agent: "agent",
};

/**
 * Auto-heal: observe, plan (heal-plan.ts), hold back what the intensity limits forbid
 * (heal-limits.ts), execute the rest one by one. Passes are serialised across replicas by a
 * Postgres advisory lock, so two passes never both spend the same allowance.
 */
export class HealService {
  constructor(
    private readonly onePassAtATime: OnePassAtATime,
    private readonly observer: HealObserver,
    private readonly agents: AgentService,
    private readonly tasks: TaskService,
    private readonly audit: AuditService,
    private readonly restarter: AgentRestarter,
    private readonly gate: DispatchGate,
    private readonly supervisor: ManagedSupervisor | null,
    private readonly bus: EventBus,
    private readonly limits: HealLimits,
    private readonly now: () => number = Date.now,
  ) {}

  async heal(req: HealRequest): Promise<HealReport> {
    return this.onePassAtATime(() => this.pass(req));
  }

  private async pass(req: HealRequest): Promise<HealReport> {
    await this.gate.refresh();
    const gates = this.gate.snapshot();
    const seen = await this.observer.observe(this.limits.windowMs);
    const failedManaged = (this.supervisor?.list() ?? [])
      .filter((c) => c.state === "failed")
      .map((c) => ({
        name: c.name,
        replica: c.replica,
        reason: `last exit code ${c.lastExit?.code ?? "none"}, signal ${c.lastExit?.signal ?? "none"}`,
      }));
    const plan = planHeal(req.strategy, {
      ...seen,
      failedManaged,
      quarantined: new Set(Object.keys(gates.quarantinedAgents)),
      openCircuits: new Set(Object.keys(gates.openCircuits)),
    });
    const { allowed, skipped } = applyHealLimits(
      plan,
      await this.observer.history(this.limits.windowMs),
      this.limits,
    );
    const report: HealReport = {
      strategy: req.strategy,
      dryRun: req.dryRun,
      plan: plan.map(({ action, target, reason }) => ({ action, target, reason })),
      executed: [],
      skipped: skipped.map(({ action, target, why }) => ({ action, target, why })),
    };
    if (req.dryRun) return report;
    for (const s of skipped) this.announce(req, s, "skipped");
    for (const action of allowed) {
      let outcome: "executed" | "failed" = "executed";
      let detail: unknown;
      try {
        detail = await this.execute(action, req);
      } catch (error) {
        outcome = "failed";
        detail = { error: (error as Error)?.message ?? String(error) };
      }
      report.executed.push({
        action: action.action,
        target: action.target,
        outcome,
        ...(outcome === "failed" ? { detail: (detail as { error: string }).error } : {}),
      });
      await this.audit.record({
        actor: req.actor,
        action: `heal.${action.action}`,
        targetKind: TARGET_KIND[action.action],
        targetId: action.target,
        reason: action.reason,
        requestId: req.requestId,
        impact: detail ?? {},
        data: {
          strategy: req.strategy,
          outcome,
          trigger: req.trigger,
          subject: action.subject ?? action.target,
        },
      });
      this.announce(req, action, outcome);
    }
    return report;
  }

  private announce(req: HealRequest, a: HealAction, outcome: "executed" | "failed" | "skipped"): void {
    this.bus.emit("heal.action", {
      strategy: req.strategy,
      action: a.action,
      target: a.target,
      outcome,
      trigger: req.trigger,
    });
  }

  /** Carries out one action; returns what it did (the audit record's impact). */
  private async execute(a: HealAction, req: HealRequest): Promise<unknown> {
    switch (a.action) {
      case "requeue_orphaned_leases": {
        return { requeuedTasks: await this.agents.requeueOrphanedLeases(a.target) };
      }
      case "retry_dead_task":
        // The one operator retry: audited as task.retry too, under the heal's actor and request id.
        await this.tasks.retryByOperator(
          a.target,
          { reason: `auto-heal: ${a.reason}` },
          { actor: req.actor, requestId: req.requestId },
        );
        return { retried: 1 };
      case "restart_managed_agent": {
        if (!this.supervisor) throw new Error("this replica runs no managed agents");
        const [name, replica] = a.target.split("/");
        return await this.supervisor.restart(name as string, Number(replica));
      }
      case "quarantine_agent": {
        const until = this.now() + this.limits.windowMs;
        await this.gate.quarantine(a.target, until);
        return { until: new Date(until).toISOString() };
      }
      case "open_circuit": {
        const until = this.now() + this.limits.windowMs;
        await this.gate.openCircuit(a.target, until);
        return { until: new Date(until).toISOString() };
      }
      case "drain_restart_agent": {
        const r = await this.restarter.restart(a.target, {
          mode: "restart",
          reason: `auto-heal: ${a.reason}`,
          actor: req.actor,
          requestId: req.requestId,
        });
        return { via: r.via, releasedTasks: r.releasedTaskIds.length, managed: r.managed };
      }
    }
  }
}
