import type { BudgetStatus } from "../budgets/budget-decision.ts";
import type { AgentStore } from "../store/agent-store.ts";
import type { Queryable } from "../store/pg-pool.ts";
import { readQueueStats } from "../store/queue-stats-store.ts";
import type { HeartbeatStore } from "../store/redis/heartbeat-store.ts";
import { stateGaugeReadsStore } from "../store/state-gauge-reads-store.ts";
import type { OverseerMetrics } from "./metrics.ts";

/** The budget reads the gauges need (BudgetService). */
export interface BudgetReads {
  status(now: Date): Promise<BudgetStatus[]>;
  pendingApprovals(): Promise<unknown[]>;
}

/**
 * Gauges that describe current state are read from the stores at scrape time (at most once per
 * `minIntervalMs`), never accumulated in memory. When a store is down the gauges are emptied and
 * overseer_dependency_up says why: no stale numbers are exported as if current.
 */
export class StateGauges {
  private last = 0;
  private inflight: Promise<void> | null = null;

  constructor(
    private readonly metrics: OverseerMetrics,
    private readonly db: Queryable,
    private readonly agents: AgentStore,
    private readonly liveness: HeartbeatStore,
    private readonly maxAgentSeries: number,
    private readonly budgets: BudgetReads,
    private readonly minIntervalMs = 1_000,
  ) {}

  refresh(): Promise<void> {
    if (Date.now() - this.last < this.minIntervalMs) return Promise.resolve();
    this.inflight ??= this.read().finally(() => {
      this.inflight = null;
      this.last = Date.now();
    });
    return this.inflight;
  }

  private async read(): Promise<void> {
    const m = this.metrics;
    try {
      const [counts, queues, live, runs, budgets, approvals] = await Promise.all([
        this.agents.countsByStateAndRole(),
        readQueueStats(this.db),
        this.agents.list({ includeEnded: false, limit: 100_000 }),
        stateGaugeReadsStore.activeRuns(this.db),
        this.budgets.status(new Date()),
        this.budgets.pendingApprovals(),
      ]);
      this.setBudgets(budgets, approvals.length);
      m.pipelineRuns.reset();
      for (const r of runs) m.pipelineRuns.set({ template: r.template, state: r.state }, r.count);
      m.agents.reset();
      for (const c of counts) m.agents.set({ state: c.state, role: c.role }, c.count);
      m.queueDepth.reset();
      m.queueOldestAge.reset();
      for (const q of queues) {
        m.queueDepth.set({ type: q.type, state: q.state }, q.count);
        m.queueOldestAge.set({ type: q.type, state: q.state }, q.oldestAgeSeconds);
      }
      m.dependencyUp.set({ dependency: "postgres" }, 1);
      try {
        const { now, beats } = await this.liveness.all();
        m.heartbeatAge.reset();
        m.heartbeatAgeMax.reset();
        const maxByRole = new Map<string, number>();
        let series = 0;
        for (const a of live) {
          const at = beats.get(a.id) ?? a.lastHeartbeatAt.getTime();
          const age = Math.max(0, now - at) / 1000;
          maxByRole.set(a.role, Math.max(maxByRole.get(a.role) ?? 0, age));
          if (series++ < this.maxAgentSeries) m.heartbeatAge.set({ agent: a.id, role: a.role }, age);
        }
        for (const [role, age] of maxByRole) m.heartbeatAgeMax.set({ role }, age);
        m.dependencyUp.set({ dependency: "redis" }, 1);
      } catch {
        m.heartbeatAge.reset();
        m.heartbeatAgeMax.reset();
        m.dependencyUp.set({ dependency: "redis" }, 0);
      }
    } catch {
      m.agents.reset();
      m.pipelineRuns.reset();
      m.queueDepth.reset();
      m.queueOldestAge.reset();
      this.clearBudgets();
      m.dependencyUp.set({ dependency: "postgres" }, 0);
    }
  }

  private setBudgets(budgets: BudgetStatus[], pending: number): void {
    const m = this.metrics;
    this.clearBudgets();
    for (const b of budgets) {
      const labels = { scope: b.scope, target: b.target, period: b.period };
      m.llmBudgetSpent.set(labels, b.spentUsd);
      m.llmBudgetBurnRate.set(labels, b.burnRate);
      for (const [limit, usd, used] of [
        ["soft", b.softLimitUsd, b.softUsed],
        ["hard", b.hardLimitUsd, b.hardUsed],
      ] as const) {
        if (usd === null || used === null) continue;
        m.llmBudgetLimit.set({ ...labels, limit }, usd);
        m.llmBudgetUsed.set({ ...labels, limit }, used);
      }
    }
    m.budgetApprovalsPending.set(pending);
  }

  private clearBudgets(): void {
    const m = this.metrics;
    m.llmBudgetSpent.reset();
    m.llmBudgetLimit.reset();
    m.llmBudgetUsed.reset();
    m.llmBudgetBurnRate.reset();
    m.budgetApprovalsPending.reset();
  }
}
