import type { Counter, Gauge, Histogram } from "prom-client";
import { KNOWN_LABEL_VALUES as K } from "./known-label-values.ts";

type C = Counter<string>;
type G = Gauge<string>;

/** The metrics of OverseerMetrics whose series are created at 0 (structural: no import cycle). */
export interface ZeroableMetrics {
  leaderChanges: C;
  agentTransitions: C;
  leaseConflicts: C;
  operatorActions: C;
  overrides: C;
  overrideActive: G;
  reconcileRepairs: C;
  wsClients: G;
  wsMessagesSent: C;
  wsClientsDropped: C;
  wsClientsRefused: C;
  agentSessions: G;
  agentSessionDisconnects: C;
  agentSessionGraceExpiries: C;
  agentSessionsResumed: C;
  agentRestarts: C;
  healActions: C;
  feedback: C;
  loopErrors: C;
  probeRuns: C;
  submitted: C;
  completed: C;
  retried: C;
  deadLettered: C;
  failed: C;
  reassigned: C;
  pipelineRunsStarted: C;
  pipelineRunsFinished: C;
  scheduleFires: C;
  budgetSteps: C;
  pipelineStepRetries: C;
  pipelineStepDuration: Histogram<string>;
  llmErrors: C;
  managedAgentRestarts: C;
  managedAgentGaveUp: C;
}

/** Label values learnt from the stores (scrape-time reads), whose counters start at 0. */
export interface KnownLabels {
  roles: Iterable<string>;
  taskTypes: Iterable<string>;
  templates: Iterable<string>;
  /** Step ids of the stored templates. */
  steps: Iterable<{ template: string; step: string }>;
}

/**
 * Exports at 0 every series whose labels are all known: until its first event a counter has truly
 * counted 0 on this replica, so a panel or a rule reads 0 instead of nothing. `inc(labels, 0)`
 * creates a series without changing its value, so declaring again never resets anything.
 */
export class KnownSeries {
  private readonly declared = new Set<string>();

  /** The label values known at start (KNOWN_LABEL_VALUES), at construction. */
  constructor(private readonly m: ZeroableMetrics) {
    for (const l of K.leaderChanges) m.leaderChanges.inc(l, 0);
    for (const l of K.agentTransitions) m.agentTransitions.inc(l, 0);
    for (const operation of K.leaseOperations) m.leaseConflicts.inc({ operation }, 0);
    for (const action of K.operatorActions) m.operatorActions.inc({ action }, 0);
    for (const action of K.overrideActions) {
      m.overrideActive.set({ action }, 0);
      for (const outcome of K.overrideOutcomes) m.overrides.inc({ action, outcome }, 0);
    }
    for (const kind of K.reconcileKinds) m.reconcileRepairs.inc({ kind }, 0);
    for (const feed of K.wsFeeds) {
      m.wsClients.inc({ feed }, 0);
      m.wsMessagesSent.inc({ feed }, 0);
    }
    for (const reason of K.wsDropReasons) m.wsClientsDropped.inc({ reason }, 0);
    for (const reason of K.wsRefuseReasons) m.wsClientsRefused.inc({ reason }, 0);
    m.agentSessions.set(0);
    for (const reason of K.sessionCloseReasons) m.agentSessionDisconnects.inc({ reason }, 0);
    m.agentSessionGraceExpiries.inc(0);
    m.agentSessionsResumed.inc(0);
    for (const l of K.agentRestarts) m.agentRestarts.inc(l, 0);
    for (const strategy of K.healStrategies) {
      for (const action of K.healActions) {
        for (const outcome of K.healOutcomes) m.healActions.inc({ strategy, action, outcome }, 0);
      }
    }
    for (const target of K.feedbackTargets) {
      for (const score of K.feedbackScores) m.feedback.inc({ target, score }, 0);
    }
  }

  /** True the first time `key` is seen: each series is created once, however often it is declared. */
  private fresh(key: string): boolean {
    if (this.declared.has(key)) return false;
    this.declared.add(key);
    return true;
  }

  /** A model's error counters, once its first call is recorded (the model label is capped). */
  model(model: string): void {
    if (!this.fresh(`model\0${model}`)) return;
    for (const error_type of K.llmErrorTypes) this.m.llmErrors.inc({ model, error_type }, 0);
  }

  /** The managed agents' entry names (OVERSEER_MANAGED_AGENTS_FILE), known when the supervisor starts. */
  managed(names: Iterable<string>): void {
    for (const name of names) {
      if (!this.fresh(`managed\0${name}`)) continue;
      for (const reason of K.managedRestartReasons) this.m.managedAgentRestarts.inc({ name, reason }, 0);
      this.m.managedAgentGaveUp.inc({ name }, 0);
    }
  }

  /** The background loops' names, known when the loop table is built. */
  loops(names: Iterable<string>): void {
    for (const loop of names) if (this.fresh(`loop\0${loop}`)) this.m.loopErrors.inc({ loop }, 0);
  }

  /**
   * Roles, task types, templates and their steps as the stores know them (read at scrape). All are
   * bounded by the fleet and the stored templates, never by tasks or runs.
   */
  learn(known: KnownLabels): void {
    const m = this.m;
    for (const role of known.roles) {
      if (!this.fresh(`role\0${role}`)) continue;
      for (const outcome of K.probeOutcomes) m.probeRuns.inc({ probe: "canary", role, outcome }, 0);
    }
    for (const type of known.taskTypes) {
      if (!this.fresh(`type\0${type}`)) continue;
      for (const c of [m.submitted, m.completed, m.retried, m.deadLettered]) c.inc({ type }, 0);
      for (const category of K.daemonFailureCategories) m.failed.inc({ type, category }, 0);
      for (const reason of K.requeueReasons) m.reassigned.inc({ type, reason }, 0);
    }
    for (const template of known.templates) {
      if (!this.fresh(`template\0${template}`)) continue;
      m.pipelineRunsStarted.inc({ template }, 0);
      m.scheduleFires.inc({ template }, 0);
      for (const state of K.runEndStates) m.pipelineRunsFinished.inc({ template, state }, 0);
      for (const outcome of K.budgetStepOutcomes) m.budgetSteps.inc({ template, outcome }, 0);
    }
    for (const { template, step } of known.steps) {
      if (!this.fresh(`step\0${template}\0${step}`)) continue;
      m.pipelineStepRetries.inc({ template, step, kind: "operator" }, 0);
      // No step has completed or failed yet: empty buckets, count 0 (a step's failures read 0).
      for (const outcome of K.stepOutcomes) m.pipelineStepDuration.zero({ template, step, outcome });
    }
  }
}
