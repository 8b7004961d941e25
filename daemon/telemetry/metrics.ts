import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { OverseerEvent } from "../events/catalogue.ts";
import { KnownSeries } from "./known-series.ts";
import { LabelCap } from "./label-cap.ts";
import { LATENCY_BUCKETS_SECONDS, METRICS } from "./metric-names.ts";

type Names<K extends keyof typeof METRICS> = (typeof METRICS)[K];
const spec = <K extends keyof typeof METRICS>(k: K) => {
  const m: Names<K> = METRICS[k];
  return { name: m.name, help: m.help, labelNames: [...m.labels] as string[] };
};

/** Distinct LLM model names exported as label values; the rest become `other`. */
export const LLM_MODEL_LABELS_MAX = 100;

/**
 * prom-client's default metrics that are gauges named like counters (`_total`): `promtool check
 * metrics` refuses them. Each is the sum of its unsuffixed sibling (`overseer_nodejs_active_handles`
 * by type), which stays, so nothing is lost by dropping them.
 */
const MISNAMED_DEFAULTS = [
  "overseer_nodejs_active_handles_total",
  "overseer_nodejs_active_requests_total",
  "overseer_nodejs_active_resources_total",
];

/** Every metric the daemon exports, on an injected registry (never the global one). */
export class OverseerMetrics {
  readonly registry: Registry;
  readonly buildInfo: Gauge;
  readonly isLeader: Gauge;
  readonly leaderEpoch: Gauge;
  readonly leaderChanges: Counter;
  readonly leaderFencedWrites: Counter;
  readonly agents: Gauge;
  readonly agentsLost: Gauge;
  readonly heartbeatAge: Gauge;
  readonly heartbeatAgeMax: Gauge;
  readonly agentTransitions: Counter;
  readonly heartbeats: Counter;
  readonly submitted: Counter;
  readonly completed: Counter;
  readonly failed: Counter;
  readonly retried: Counter;
  readonly reassigned: Counter;
  readonly deadLettered: Counter;
  readonly leaseConflicts: Counter;
  readonly queueDepth: Gauge;
  readonly queueOldestAge: Gauge;
  readonly queueWait: Histogram;
  readonly taskDuration: Histogram;
  readonly httpDuration: Histogram;
  readonly reconcileRepairs: Counter;
  readonly pipelineRunsStarted: Counter;
  readonly pipelineRunsFinished: Counter;
  readonly pipelineRunDuration: Histogram;
  readonly pipelineStepDuration: Histogram;
  readonly pipelineStepRetries: Counter;
  readonly pipelineRuns: Gauge;
  readonly scheduleFires: Counter;
  readonly operatorActions: Counter;
  readonly overrides: Counter;
  readonly overrideActive: Gauge;
  readonly loopErrors: Counter;
  readonly retentionDeleted: Counter;
  readonly llmTokens: Counter;
  readonly llmCost: Counter;
  readonly llmCallDuration: Histogram;
  readonly llmTimeToFirstToken: Histogram;
  readonly llmErrors: Counter;
  readonly dependencyUp: Gauge;
  readonly managedAgentRestarts: Counter;
  readonly managedAgents: Gauge;
  readonly managedAgentGaveUp: Counter;
  readonly agentRestarts: Counter;
  readonly healActions: Counter;
  readonly probeSuccess: Gauge;
  readonly probeDuration: Histogram;
  readonly probeRuns: Counter;
  readonly llmBudgetSpent: Gauge;
  readonly llmBudgetLimit: Gauge;
  readonly llmBudgetUsed: Gauge;
  readonly llmBudgetBurnRate: Gauge;
  readonly budgetApprovalsPending: Gauge;
  readonly budgetSteps: Counter;
  readonly feedback: Counter;
  readonly wsClients: Gauge;
  readonly wsMessagesSent: Counter;
  readonly wsClientsDropped: Counter;
  readonly wsClientsRefused: Counter;
  readonly agentSessions: Gauge;
  readonly agentSessionDisconnects: Counter;
  readonly agentSessionRequests: Histogram;
  readonly agentSessionGraceExpiries: Counter;
  readonly agentSessionsResumed: Counter;

  /** Role and task type label values, capped (OVERSEER_METRICS_MAX_ROLES, OVERSEER_METRICS_MAX_TASK_TYPES). */
  readonly roleLabel: LabelCap;
  readonly typeLabel: LabelCap;

  constructor(
    registry = new Registry(),
    caps: { roles: number; taskTypes: number } = { roles: 100, taskTypes: 200 },
  ) {
    this.registry = registry;
    this.roleLabel = new LabelCap(caps.roles);
    this.typeLabel = new LabelCap(caps.taskTypes);
    const r = [registry];
    collectDefaultMetrics({ register: registry, prefix: "overseer_" });
    for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(name);
    this.buildInfo = new Gauge({ ...spec("buildInfo"), registers: r });
    this.isLeader = new Gauge({ ...spec("isLeader"), registers: r });
    this.leaderEpoch = new Gauge({ ...spec("leaderEpoch"), registers: r });
    this.leaderChanges = new Counter({ ...spec("leaderChanges"), registers: r });
    this.leaderFencedWrites = new Counter({ ...spec("leaderFencedWrites"), registers: r });
    this.agents = new Gauge({ ...spec("agents"), registers: r });
    this.agentsLost = new Gauge({ ...spec("agentsLost"), registers: r });
    this.heartbeatAge = new Gauge({ ...spec("agentHeartbeatAge"), registers: r });
    this.heartbeatAgeMax = new Gauge({ ...spec("agentHeartbeatAgeMax"), registers: r });
    this.agentTransitions = new Counter({ ...spec("agentTransitions"), registers: r });
    this.heartbeats = new Counter({ ...spec("heartbeats"), registers: r });
    this.submitted = new Counter({ ...spec("tasksSubmitted"), registers: r });
    this.completed = new Counter({ ...spec("tasksCompleted"), registers: r });
    this.failed = new Counter({ ...spec("tasksFailed"), registers: r });
    this.retried = new Counter({ ...spec("tasksRetried"), registers: r });
    this.reassigned = new Counter({ ...spec("tasksReassigned"), registers: r });
    this.deadLettered = new Counter({ ...spec("tasksDeadLettered"), registers: r });
    this.leaseConflicts = new Counter({ ...spec("leaseConflicts"), registers: r });
    this.queueDepth = new Gauge({ ...spec("queueDepth"), registers: r });
    this.queueOldestAge = new Gauge({ ...spec("queueOldestAge"), registers: r });
    this.queueWait = new Histogram({ ...spec("queueWait"), buckets: LATENCY_BUCKETS_SECONDS, registers: r });
    this.taskDuration = new Histogram({
      ...spec("taskDuration"),
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: r,
    });
    this.httpDuration = new Histogram({
      ...spec("httpDuration"),
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: r,
    });
    this.reconcileRepairs = new Counter({ ...spec("reconcileRepairs"), registers: r });
    this.pipelineRunsStarted = new Counter({ ...spec("pipelineRunsStarted"), registers: r });
    this.pipelineRunsFinished = new Counter({ ...spec("pipelineRunsFinished"), registers: r });
    this.pipelineRunDuration = new Histogram({
      ...spec("pipelineRunDuration"),
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: r,
    });
    this.pipelineStepDuration = new Histogram({
      ...spec("pipelineStepDuration"),
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: r,
    });
    this.pipelineStepRetries = new Counter({ ...spec("pipelineStepRetries"), registers: r });
    this.pipelineRuns = new Gauge({ ...spec("pipelineRuns"), registers: r });
    this.scheduleFires = new Counter({ ...spec("scheduleFires"), registers: r });
    this.operatorActions = new Counter({ ...spec("operatorActions"), registers: r });
    this.overrides = new Counter({ ...spec("overrides"), registers: r });
    this.overrideActive = new Gauge({ ...spec("overrideActive"), registers: r });
    this.loopErrors = new Counter({ ...spec("loopErrors"), registers: r });
    this.retentionDeleted = new Counter({ ...spec("retentionDeleted"), registers: r });
    this.dependencyUp = new Gauge({ ...spec("dependencyUp"), registers: r });
    this.managedAgentRestarts = new Counter({ ...spec("managedAgentRestarts"), registers: r });
    this.managedAgents = new Gauge({ ...spec("managedAgents"), registers: r });
    this.managedAgentGaveUp = new Counter({ ...spec("managedAgentGaveUp"), registers: r });
    this.agentRestarts = new Counter({ ...spec("agentRestarts"), registers: r });
    this.healActions = new Counter({ ...spec("healActions"), registers: r });
    this.probeSuccess = new Gauge({ ...spec("probeSuccess"), registers: r });
    this.probeDuration = new Histogram({
      ...spec("probeDuration"),
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: r,
    });
    this.probeRuns = new Counter({ ...spec("probeRuns"), registers: r });
    this.llmTokens = new Counter({ ...spec("llmTokens"), registers: r });
    this.llmCost = new Counter({ ...spec("llmCost"), registers: r });
    this.llmCallDuration = new Histogram({
      ...spec("llmCallDuration"),
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: r,
    });
    this.llmTimeToFirstToken = new Histogram({
      ...spec("llmTimeToFirstToken"),
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: r,
    });
    this.llmErrors = new Counter({ ...spec("llmErrors"), registers: r });
    this.llmBudgetSpent = new Gauge({ ...spec("llmBudgetSpent"), registers: r });
    this.llmBudgetLimit = new Gauge({ ...spec("llmBudgetLimit"), registers: r });
    this.llmBudgetUsed = new Gauge({ ...spec("llmBudgetUsed"), registers: r });
    this.llmBudgetBurnRate = new Gauge({ ...spec("llmBudgetBurnRate"), registers: r });
    this.budgetApprovalsPending = new Gauge({ ...spec("budgetApprovalsPending"), registers: r });
    this.budgetSteps = new Counter({ ...spec("budgetSteps"), registers: r });
    this.feedback = new Counter({ ...spec("feedback"), registers: r });
    this.wsClients = new Gauge({ ...spec("wsClients"), registers: r });
    this.wsMessagesSent = new Counter({ ...spec("wsMessagesSent"), registers: r });
    this.wsClientsDropped = new Counter({ ...spec("wsClientsDropped"), registers: r });
    this.wsClientsRefused = new Counter({ ...spec("wsClientsRefused"), registers: r });
    this.agentSessions = new Gauge({ ...spec("agentSessions"), registers: r });
    this.agentSessionDisconnects = new Counter({ ...spec("agentSessionDisconnects"), registers: r });
    // The same buckets as overseer_http_request_duration_seconds: a panel may add the two up.
    this.agentSessionRequests = new Histogram({
      ...spec("agentSessionRequests"),
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: r,
    });
    this.agentSessionGraceExpiries = new Counter({ ...spec("agentSessionGraceExpiries"), registers: r });
    this.agentSessionsResumed = new Counter({ ...spec("agentSessionsResumed"), registers: r });
    this.known = new KnownSeries(this);
  }

  /** Creates the series of known label values at 0 (known-series.ts). */
  readonly known: KnownSeries;

  /** Model names come from agents, so the label is capped like roles and task types. */
  private readonly llmModels = new LabelCap(LLM_MODEL_LABELS_MAX);

  /** The model's label value (capped), with its error counters declared at 0 the first time. */
  private modelLabel(model: string): string {
    const label = this.llmModels.label(model);
    this.known.model(label);
    return label;
  }

  /** The metrics sink of the event bus: counters and histograms move only through events. */
  readonly onEvent = (e: OverseerEvent): void => {
    switch (e.type) {
      case "agent.recovered":
        this.agentTransitions.inc({ from: e.from, to: "active" });
        break;
      case "agent.stale":
      case "agent.dead":
      case "agent.draining":
      case "agent.left":
        this.agentTransitions.inc({ from: e.from, to: e.type.slice("agent.".length) });
        break;
      case "agent.registered":
        this.agentTransitions.inc({ from: "none", to: "active" });
        break;
      case "agent.heartbeat":
        this.heartbeats.inc();
        break;
      case "task.submitted":
        this.submitted.inc({ type: this.typeLabel.label(e.taskType) });
        break;
      case "task.claimed":
        this.queueWait.observe({ type: this.typeLabel.label(e.taskType) }, e.queueWaitMs / 1000);
        break;
      case "task.completed":
        this.completed.inc({ type: this.typeLabel.label(e.taskType) });
        this.taskDuration.observe(
          { type: this.typeLabel.label(e.taskType), outcome: "completed" },
          e.durationMs / 1000,
        );
        break;
      case "task.failed":
        this.failed.inc({ type: this.typeLabel.label(e.taskType), category: e.category });
        this.taskDuration.observe(
          { type: this.typeLabel.label(e.taskType), outcome: "failed" },
          e.durationMs / 1000,
        );
        break;
      case "task.retry_scheduled":
        this.retried.inc({ type: this.typeLabel.label(e.taskType) });
        break;
      case "task.requeued":
        this.reassigned.inc({ type: this.typeLabel.label(e.taskType), reason: e.reason });
        break;
      case "task.dead_lettered":
        this.deadLettered.inc({ type: this.typeLabel.label(e.taskType) });
        break;
      case "lease.conflict":
        this.leaseConflicts.inc({ operation: e.operation });
        break;
      case "leader.acquired":
        this.isLeader.set(1);
        this.leaderEpoch.set(e.epoch);
        this.leaderChanges.inc({ change: "acquired", reason: "elected" });
        break;
      case "leader.lost":
        this.isLeader.set(0);
        this.leaderChanges.inc({ change: "lost", reason: e.reason });
        break;
      case "leader.fenced":
        this.leaderFencedWrites.inc();
        break;
      case "reconcile.repaired":
        this.reconcileRepairs.inc({ kind: e.kind }, e.count);
        break;
      case "pipeline.run.started":
        this.pipelineRunsStarted.inc({ template: e.template });
        break;
      case "pipeline.run.completed":
      case "pipeline.run.failed":
      case "pipeline.run.cancelled": {
        const state = e.type.slice("pipeline.run.".length);
        this.pipelineRunsFinished.inc({ template: e.template, state });
        this.pipelineRunDuration.observe({ template: e.template, state }, e.durationMs / 1000);
        break;
      }
      case "pipeline.step.completed":
        this.pipelineStepDuration.observe(
          { template: e.template, step: e.stepId, outcome: "completed" },
          e.durationMs / 1000,
        );
        break;
      case "pipeline.step.failed":
        this.pipelineStepDuration.observe(
          { template: e.template, step: e.stepId, outcome: "failed" },
          e.durationMs / 1000,
        );
        break;
      case "pipeline.step.retried":
        this.pipelineStepRetries.inc({ template: e.template, step: e.stepId, kind: "operator" });
        break;
      case "schedule.fired":
        this.scheduleFires.inc({ template: e.template });
        break;
      case "operator.action":
        this.operatorActions.inc({ action: e.action });
        break;
      case "override.step":
        this.overrides.inc({ action: e.action, outcome: e.outcome });
        break;
      case "loop.error":
        this.loopErrors.inc({ loop: e.loop });
        break;
      case "retention.completed":
        for (const [table, n] of Object.entries(e.deleted)) this.retentionDeleted.inc({ table }, n);
        break;
      case "managed.exited":
        if (e.decision === "restart") this.managedAgentRestarts.inc({ name: e.name, reason: e.reason });
        break;
      case "managed.gave_up":
        this.managedAgentGaveUp.inc({ name: e.name });
        break;
      case "agent.restart_requested":
        this.agentRestarts.inc({ mode: e.mode, via: e.managed ? "managed" : "command" });
        break;
      case "heal.action":
        this.healActions.inc({ strategy: e.strategy, action: e.action, outcome: e.outcome });
        break;
      case "probe.completed": {
        const labels = { probe: e.probe, role: this.roleLabel.label(e.role) };
        this.probeSuccess.set(labels, e.outcome === "success" ? 1 : 0);
        this.probeRuns.inc({ ...labels, outcome: e.outcome });
        if (e.outcome === "success") this.probeDuration.observe(labels, e.durationMs / 1000);
        break;
      }
      case "budget.step":
        this.budgetSteps.inc({ template: e.template, outcome: e.outcome });
        break;
      case "feedback.recorded":
        this.feedback.inc({ target: e.targetKind, score: String(e.score) });
        break;
      case "llm.call": {
        const model = this.modelLabel(e.model);
        const role = this.roleLabel.label(e.role);
        this.llmTokens.inc({ model, role, type: "input" }, e.inputTokens);
        this.llmTokens.inc({ model, role, type: "output" }, e.outputTokens);
        this.llmCost.inc({ model, role }, e.costUsd);
        this.llmCallDuration.observe({ model }, e.latencyMs / 1000);
        if (e.timeToFirstTokenMs !== null) {
          this.llmTimeToFirstToken.observe({ model }, e.timeToFirstTokenMs / 1000);
        }
        if (e.status === "error") this.llmErrors.inc({ model, error_type: e.errorType ?? "other" });
        break;
      }
      default:
        break;
    }
  };
}
