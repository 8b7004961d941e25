import { FIGURES, RUN_OUTCOMES } from "../../contract/figures.ts";
import { METRICS } from "../../daemon/telemetry/metric-names.ts";
import { JOB } from "./config.ts";

/**
 * Every PromQL expression the dashboards use, apart from their layout so each is reviewed once
 * (and reused where two dashboards show the same thing). Names come from the daemon's own
 * metric-names module, so a rename there is a rename here.
 *
 * Aggregation follows docs/metrics.md: event counters are per replica (sum them), scrape-time
 * gauges describe shared state and every replica exports them (max, never sum).
 */
const M = Object.fromEntries(Object.entries(METRICS).map(([k, v]) => [k, v.name])) as {
  [K in keyof typeof METRICS]: (typeof METRICS)[K]["name"];
};

/** prom-client's default process metrics, exported with the `overseer_` prefix. */
export const PROCESS = {
  cpu: "overseer_process_cpu_seconds_total",
  rss: "overseer_process_resident_memory_bytes",
  heapUsed: "overseer_nodejs_heap_size_used_bytes",
  eventLoopLagP99: "overseer_nodejs_eventloop_lag_p99_seconds",
  gc: "overseer_nodejs_gc_duration_seconds",
  openFds: "overseer_process_open_fds",
  maxFds: "overseer_process_max_fds",
} as const;

/** `metric{job=~"$job",<matchers>}`. */
export const sel = (metric: string, matchers = ""): string =>
  `${metric}{${JOB}${matchers ? `,${matchers}` : ""}}`;

const RI = "$__rate_interval";
const rate = (metric: string, matchers = "", window = RI) => `rate(${sel(metric, matchers)}[${window}])`;
const increase = (metric: string, matchers = "", window = RI) =>
  `increase(${sel(metric, matchers)}[${window}])`;
const quantile = (q: number, metric: string, by: string, matchers = "", window = RI) =>
  `histogram_quantile(${q}, sum by (le${by ? `, ${by}` : ""}) (${rate(`${metric}_bucket`, matchers, window)}))`;

// Figures (contract/figures.ts): a run success rate counts runs that completed over runs that
// completed or failed; a cancelled run is neither, as on the API.
const RUN_SUCCEEDED = `state=~"${RUN_OUTCOMES.succeeded.join("|")}"`;
const RUN_ENDED = `state=~"${[...RUN_OUTCOMES.succeeded, ...RUN_OUTCOMES.failed].join("|")}"`;

export const q = {
  // --- fleet -----------------------------------------------------------------------------------
  agentsActive: `sum(max by (role) (${sel(M.agents, 'state="active"')}))`,
  agentsActiveByRole: `max by (role) (${sel(M.agents, 'state="active",role=~"$role"')})`,
  agentsByState: `sum by (state) (max by (state, role) (${sel(M.agents, 'role=~"$role"')}))`,
  agentsLiveByRoleState: `max by (role, state) (${sel(M.agents, 'state=~"active|stale|draining",role=~"$role"')})`,
  heartbeatAgeMaxByRole: `max by (role) (${sel(M.agentHeartbeatAgeMax, 'role=~"$role"')})`,
  heartbeatAgeTopAgents: `topk(10, max by (agent, role) (${sel(M.agentHeartbeatAge, 'role=~"$role"')}))`,
  heartbeatsPerSecond: `sum(${rate(M.heartbeats)})`,
  // Sessions are per replica (each replica counts the sockets it holds): sum them.
  agentSessionsOpen: `sum(${sel(M.agentSessions)})`,
  sessionDisconnectsByReason: `sum by (reason) (${rate(M.agentSessionDisconnects)})`,
  sessionsResumed: `sum(${rate(M.agentSessionsResumed)})`,
  sessionGraceExpiries: `sum(${rate(M.agentSessionGraceExpiries)})`,
  transitionsByTo: `sum by (to) (${rate(M.agentTransitions)})`,
  agentDeaths: `sum(${increase(M.agentTransitions, 'to="dead"')})`,
  agentDeathsInRange: `sum(${increase(M.agentTransitions, 'to="dead"', "$__range")})`,
  // Heartbeats over HTTP and over sessions together (the two histograms share their buckets).
  heartbeatLatencyP99: `histogram_quantile(0.99, sum by (le) (${rate(`${M.httpDuration}_bucket`, 'route="/api/agents/:id/heartbeat"')} or ${rate(`${M.agentSessionRequests}_bucket`, 'op="heartbeat"')}))`,

  // --- tasks -----------------------------------------------------------------------------------
  /** Share of finished attempts that completed (failed includes timed-out and lost attempts). */
  /** The figure attempt_success_rate over the last 5 minutes: the API's `live.rate`, read from Postgres at scrape. */
  attemptSuccessLive: `max(${sel(FIGURES.attempt_success_rate.metric.name, 'window="5m"')})`,
  attemptSuccessByType: `sum by (type) (${rate(M.taskDuration + "_count", 'outcome="completed",type=~"$type"')}) / sum by (type) (${rate(M.taskDuration + "_count", 'type=~"$type"')})`,
  attemptSuccessByAnyType: `sum by (type) (${rate(M.taskDuration + "_count", 'outcome="completed"')}) / sum by (type) (${rate(M.taskDuration + "_count")})`,
  submittedPerSecond: `sum(${rate(M.tasksSubmitted, 'type=~"$type"')})`,
  completedPerSecond: `sum(${rate(M.tasksCompleted, 'type=~"$type"')})`,
  failedPerSecond: `sum(${rate(M.tasksFailed, 'type=~"$type"')})`,
  failuresByCategory: `sum by (category) (${rate(M.tasksFailed)})`,
  failuresByTypeCategory: `sum by (type, category) (${rate(M.tasksFailed, 'type=~"$type"')})`,
  retriesByType: `sum by (type) (${rate(M.tasksRetried, 'type=~"$type"')})`,
  reassignedByReason: `sum by (reason) (${increase(M.tasksReassigned)})`,
  deadLetteredByType: `sum by (type) (${increase(M.tasksDeadLettered, 'type=~"$type"')})`,
  deadLetteredByAnyType: `sum by (type) (${increase(M.tasksDeadLettered)})`,
  backlogReady: `sum(max by (type) (${sel(M.queueDepth, 'state="ready"')}))`,
  backlogReadyByType: `max by (type) (${sel(M.queueDepth, 'state="ready",type=~"$type"')})`,
  backlogReadyByAnyType: `max by (type) (${sel(M.queueDepth, 'state="ready"')})`,
  depthByState: `sum by (state) (max by (type, state) (${sel(M.queueDepth, 'type=~"$type"')}))`,
  parkedTasks: `sum(max by (type, state) (${sel(M.queueDepth, 'state=~"failed|dead"')}))`,
  oldestReady: `max(${sel(M.queueOldestAge, 'state="ready"')})`,
  oldestByState: `max by (state) (${sel(M.queueOldestAge, 'state=~"ready|active",type=~"$type"')})`,
  queueWaitP50: quantile(0.5, M.queueWait, "", 'type=~"$type"'),
  queueWaitP99: quantile(0.99, M.queueWait, "", 'type=~"$type"'),
  queueWaitP99ByType: quantile(0.99, M.queueWait, "type", 'type=~"$type"'),
  durationP95ByTypeOutcome: quantile(0.95, M.taskDuration, "type, outcome", 'type=~"$type"'),
  httpRateByRouteStatus: `sum by (route, status_code) (${rate(M.httpDuration + "_count")})`,
  httpP99ByRoute: `topk(10, ${quantile(0.99, M.httpDuration, "route")})`,

  // --- pipelines -------------------------------------------------------------------------------
  runsInProgress: `sum(max by (template, state) (${sel(M.pipelineRuns, 'template=~"$template"')}))`,
  runsInProgressByState: `sum by (state) (max by (template, state) (${sel(M.pipelineRuns, 'template=~"$template"')}))`,
  runsStartedByTemplate: `sum by (template) (${rate(M.pipelineRunsStarted, 'template=~"$template"')})`,
  runsFinishedByState: `sum by (template, state) (${rate(M.pipelineRunsFinished, 'template=~"$template"')})`,
  runSuccess: `sum(${increase(M.pipelineRunsFinished, RUN_SUCCEEDED, "1h")}) / sum(${increase(M.pipelineRunsFinished, RUN_ENDED, "1h")})`,
  runSuccessByTemplate: `sum by (template) (${increase(M.pipelineRunsFinished, `${RUN_SUCCEEDED},template=~"$template"`, "1h")}) / sum by (template) (${increase(M.pipelineRunsFinished, `${RUN_ENDED},template=~"$template"`, "1h")})`,
  runDurationP50: quantile(0.5, M.pipelineRunDuration, "template", 'state="completed",template=~"$template"'),
  runDurationP95: quantile(
    0.95,
    M.pipelineRunDuration,
    "template",
    'state="completed",template=~"$template"',
  ),
  stepDurationP95: quantile(
    0.95,
    M.pipelineStepDuration,
    "template, step",
    'outcome="completed",template=~"$template"',
  ),
  stepFailures: `sum by (template, step) (${increase(M.pipelineStepDuration + "_count", 'outcome="failed",template=~"$template"')})`,
  stepRetries: `sum by (template, step) (${increase(M.pipelineStepRetries, 'template=~"$template"')})`,
  scheduleFires: `sum by (template) (${increase(M.scheduleFires, 'template=~"$template"')})`,

  // --- LLM usage, cost and budgets ----------------------------------------------------------------
  spendInRange: `sum(${increase(M.llmCost, 'model=~"$model",role=~"$role"', "$__range")})`,
  tokensInRange: `sum(${increase(M.llmTokens, 'model=~"$model",role=~"$role"', "$__range")})`,
  callsPerSecond: `sum(${rate(M.llmCallDuration + "_count", 'model=~"$model"')})`,
  costPerHourByModel: `sum by (model) (${rate(M.llmCost, 'model=~"$model",role=~"$role"')}) * 3600`,
  costPerHourByRole: `sum by (role) (${rate(M.llmCost, 'model=~"$model",role=~"$role"')}) * 3600`,
  tokensByModelType: `sum by (model, type) (${rate(M.llmTokens, 'model=~"$model",role=~"$role"')})`,
  callLatencyP50: quantile(0.5, M.llmCallDuration, "model", 'model=~"$model"'),
  callLatencyP95: quantile(0.95, M.llmCallDuration, "model", 'model=~"$model"'),
  ttftP95: quantile(0.95, M.llmTimeToFirstToken, "model", 'model=~"$model"'),
  llmErrorRatio: `sum by (model) (${rate(M.llmErrors, 'model=~"$model"')}) / sum by (model) (${rate(M.llmCallDuration + "_count", 'model=~"$model"')})`,
  llmErrorsByType: `sum by (model, error_type) (${increase(M.llmErrors, 'model=~"$model"')})`,
  budgetSpent: `max by (scope, target, period) (${sel(M.llmBudgetSpent)})`,
  budgetLimit: `max by (scope, target, period, limit) (${sel(M.llmBudgetLimit)})`,
  budgetUsed: `max by (scope, target, period, limit) (${sel(M.llmBudgetUsed)})`,
  budgetHardUsedMax: `max(${sel(M.llmBudgetUsed, 'limit="hard"')})`,
  budgetBurnRate: `max by (scope, target, period) (${sel(M.llmBudgetBurnRate)})`,
  approvalsPending: `max(${sel(M.budgetApprovalsPending)})`,
  budgetStepOutcomes: `sum by (outcome) (${increase(M.budgetSteps)})`,
  feedbackByScore: `sum by (target, score) (${increase(M.feedback, "", "$__range")})`,

  // --- recovery and audit ------------------------------------------------------------------------
  leaders: `sum(${sel(M.isLeader)})`,
  leaderEpoch: `max(${sel(M.leaderEpoch)})`,
  leaderByInstance: `max by (instance) (${sel(M.isLeader)})`,
  leaderChanges: `sum by (instance, change, reason) (${increase(M.leaderChanges)})`,
  leaderFencedWrites: `sum by (instance) (${increase(M.leaderFencedWrites)})`,
  dependencyUp: `min by (dependency) (${sel(M.dependencyUp)})`,
  targetsUp: `sum(${sel("up")})`,
  upByInstance: `max by (instance) (${sel("up")})`,
  reconcileRepairs: `sum by (kind) (${increase(M.reconcileRepairs)})`,
  leaseConflicts: `sum by (operation) (${increase(M.leaseConflicts)})`,
  operatorActions: `sum by (action) (${increase(M.operatorActions)})`,
  operatorActionsInRange: `sum by (action) (${increase(M.operatorActions, "", "$__range")})`,
  loopErrors: `sum by (loop) (${increase(M.loopErrors)})`,
  firingAlerts: 'sum by (alertname, severity) (ALERTS{alertstate="firing"})',

  // --- the daemon process ------------------------------------------------------------------------
  cpuByInstance: `sum by (instance) (${rate(PROCESS.cpu)})`,
  rssByInstance: `max by (instance) (${sel(PROCESS.rss)})`,
  heapUsedByInstance: `max by (instance) (${sel(PROCESS.heapUsed)})`,
  eventLoopLagP99: `max by (instance) (${sel(PROCESS.eventLoopLagP99)})`,
  gcSecondsPerSecond: `sum by (instance) (${rate(PROCESS.gc + "_sum")})`,
  fdUsage: `max by (instance) (${sel(PROCESS.openFds)} / ${sel(PROCESS.maxFds)})`,
} as const;

/** `label_values()` queries of the template variables. */
export const variableQueries = {
  job: `label_values(${M.buildInfo}, job)`,
  role: `label_values(${sel(M.agents)}, role)`,
  type: `label_values(${sel(M.tasksSubmitted)}, type)`,
  template: `label_values(${sel(M.pipelineRunsStarted)}, template)`,
  model: `label_values(${sel(M.llmTokens)}, model)`,
};
