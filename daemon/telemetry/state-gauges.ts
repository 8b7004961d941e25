import type { BudgetStatus } from "../budgets/budget-decision.ts";
import type { AgentStore } from "../store/agent-store.ts";
import type { Queryable } from "../store/pg-pool.ts";
import { readQueueStats } from "../store/queue-stats-store.ts";
import type { HeartbeatStore } from "../store/redis/heartbeat-store.ts";
import { stateGaugeReadsStore } from "../store/state-gauge-reads-store.ts";
import { KNOWN_LABEL_VALUES as K } from "./known-label-values.ts";
import type { OverseerMetrics } from "./metrics.ts";
import { sharedResult } from "./scrape-throttle.ts";

/** The budget reads the gauges need (BudgetService). */
export interface BudgetReads {
  status(now: Date): Promise<BudgetStatus[]>;
  pendingApprovals(): Promise<unknown[]>;
}

/**
 * Gauges that describe current state are read from the stores at scrape time (at most once per
 * `minIntervalMs`), never accumulated in memory. When a store is down the gauges are emptied and
 * overseer_dependency_up says why: no stale numbers are exported as if current.
 *
 * Every state of a known role, task type or template is exported, at 0 when nothing is in it, so a
 * state that empties reads 0 instead of vanishing (a role whose last agent left has `active` 0;
 * "runs in progress" is 0 between runs). Ages are not: the oldest of no task has no age.
 */
export class StateGauges {
  /** Reads the stores into the gauges (throttled: scrape-throttle.ts). */
  readonly refresh: () => Promise<void>;

  constructor(
    private readonly metrics: OverseerMetrics,
    private readonly db: Queryable,
    private readonly agents: AgentStore,
    private readonly liveness: HeartbeatStore,
    private readonly maxAgentSeries: number,
    private readonly budgets: BudgetReads,
    minIntervalMs = 1_000,
  ) {
    this.refresh = sharedResult(() => this.read(), minIntervalMs);
  }

  private async read(): Promise<void> {
    const m = this.metrics;
    try {
      const [counts, queues, live, capabilities, runs, budgets, approvals, steps, lost] = await Promise.all([
        this.agents.countsByStateAndRole(),
        readQueueStats(this.db),
        stateGaugeReadsStore.liveAgents(this.db),
        stateGaugeReadsStore.liveCapabilities(this.db),
        stateGaugeReadsStore.activeRuns(this.db),
        this.budgets.status(new Date()),
        this.budgets.pendingApprovals(),
        stateGaugeReadsStore.templateSteps(this.db),
        stateGaugeReadsStore.lostAgentsByRole(this.db),
      ]);
      // Roles of every agent row; task types any live agent can take or any unfinished task has;
      // stored templates and their steps.
      // Role and task type labels are capped: past the cap, values add up under `other`.
      const role = (r: string) => m.roleLabel.label(r);
      const type = (t: string) => m.typeLabel.label(t);
      const roles = new Set(counts.map((c) => role(c.role)));
      const types = new Set([...capabilities, ...queues.map((q) => q.type)].map(type));
      const templates = new Set([...steps.map((s) => s.template), ...runs.map((r) => r.template)]);
      m.known.learn({
        roles,
        taskTypes: types,
        templates,
        steps: steps.flatMap((s) => (s.step === null ? [] : [{ template: s.template, step: s.step }])),
      });
      this.setBudgets(budgets, approvals.length);
      m.pipelineRuns.reset();
      for (const template of templates) {
        for (const state of K.runActiveStates) m.pipelineRuns.set({ template, state }, 0);
      }
      for (const r of runs) m.pipelineRuns.set({ template: r.template, state: r.state }, r.count);
      m.agents.reset();
      for (const r of roles) for (const state of K.agentStates) m.agents.set({ state, role: r }, 0);
      for (const c of counts) m.agents.inc({ state: c.state, role: role(c.role) }, c.count);
      m.agentsLost.reset();
      for (const l of lost) m.agentsLost.inc({ role: role(l.role) }, l.count);
      m.queueDepth.reset();
      m.queueOldestAge.reset();
      for (const t of types) for (const state of K.queueStates) m.queueDepth.set({ type: t, state }, 0);
      const oldest = new Map<string, { type: string; state: string; age: number }>();
      for (const q of queues) {
        const labels = { type: type(q.type), state: q.state };
        m.queueDepth.inc(labels, q.count);
        const key = `${labels.type}\0${labels.state}`;
        if ((oldest.get(key)?.age ?? -1) < q.oldestAgeSeconds)
          oldest.set(key, { ...labels, age: q.oldestAgeSeconds });
      }
      for (const o of oldest.values()) m.queueOldestAge.set({ type: o.type, state: o.state }, o.age);
      m.dependencyUp.set({ dependency: "postgres" }, 1);
      try {
        const { now, beats } = await this.liveness.all();
        m.heartbeatAge.reset();
        m.heartbeatAgeMax.reset();
        const maxByRole = new Map<string, number>();
        let series = 0;
        for (const a of live) {
          const at = beats.get(a.id) ?? a.lastHeartbeatMs;
          const age = Math.max(0, now - at) / 1000;
          const r = role(a.role);
          maxByRole.set(r, Math.max(maxByRole.get(r) ?? 0, age));
          if (series++ < this.maxAgentSeries) m.heartbeatAge.set({ agent: a.id, role: r }, age);
        }
        for (const [r, age] of maxByRole) m.heartbeatAgeMax.set({ role: r }, age);
        m.dependencyUp.set({ dependency: "redis" }, 1);
      } catch {
        m.heartbeatAge.reset();
        m.heartbeatAgeMax.reset();
        m.dependencyUp.set({ dependency: "redis" }, 0);
      }
    } catch {
      m.agents.reset();
      m.agentsLost.reset();
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
