/**
 * Every metric and label name the daemon exports, in one place. Dashboards and alert rules are
 * checked against this module, so a rename here is a rename everywhere. Prometheus conventions:
 * `overseer_` prefix, base units, `_total` for counters; no unbounded labels (no task ids).
 */
import { FIGURE_METRICS } from "./figure-metric-names.ts";

export const METRIC_PREFIX = "overseer_";

export const METRICS = {
  buildInfo: {
    name: "overseer_build_info",
    help: "Build and runtime facts; always 1",
    labels: ["version", "namespace"],
  },
  isLeader: { name: "overseer_leader", help: "1 when this replica holds the leader lease", labels: [] },
  leaderEpoch: {
    name: "overseer_leader_epoch",
    help: "Fencing epoch of the leader lease this replica last held",
    labels: [],
  },
  leaderChanges: {
    name: "overseer_leader_changes_total",
    help: "This replica became leader (change=acquired) or stopped being leader (change=lost, with reason)",
    labels: ["change", "reason"],
  },
  leaderFencedWrites: {
    name: "overseer_leader_fenced_writes_total",
    help: "Leader-only transactions this replica started that the fence refused (a newer leader had taken over)",
    labels: [],
  },
  agentsLost: {
    name: "overseer_agents_lost",
    help: "Agents of a role that died (silent, never deregistered) after the role's latest registration or clean deregistration",
    labels: ["role"],
  },
  agents: {
    name: "overseer_agents",
    help: "Registered agents by lifecycle state and role",
    labels: ["state", "role"],
  },
  agentHeartbeatAge: {
    name: "overseer_agent_heartbeat_age_seconds",
    help: "Seconds since each live agent's last heartbeat (capped to OVERSEER_METRICS_MAX_AGENT_SERIES agents)",
    labels: ["agent", "role"],
  },
  agentHeartbeatAgeMax: {
    name: "overseer_agent_heartbeat_age_max_seconds",
    help: "Largest heartbeat age among live agents of a role",
    labels: ["role"],
  },
  agentTransitions: {
    name: "overseer_agent_transitions_total",
    help: "Agent lifecycle transitions",
    labels: ["from", "to"],
  },
  heartbeats: { name: "overseer_agent_heartbeats_total", help: "Heartbeats received", labels: [] },
  tasksSubmitted: { name: "overseer_tasks_submitted_total", help: "Tasks accepted", labels: ["type"] },
  tasksCompleted: { name: "overseer_tasks_completed_total", help: "Tasks completed", labels: ["type"] },
  tasksFailed: {
    name: "overseer_tasks_failed_total",
    help: "Task attempts that failed (reported by the agent, timed out or lost with the agent)",
    labels: ["type", "category"],
  },
  tasksRetried: {
    name: "overseer_tasks_retried_total",
    help: "Tasks scheduled for another attempt",
    labels: ["type"],
  },
  tasksReassigned: {
    name: "overseer_tasks_reassigned_total",
    help: "Leases revoked or released and the task queued again at once",
    labels: ["type", "reason"],
  },
  tasksDeadLettered: {
    name: "overseer_tasks_dead_lettered_total",
    help: "Tasks dead-lettered",
    labels: ["type"],
  },
  leaseConflicts: {
    name: "overseer_lease_conflicts_total",
    help: "Calls rejected with 409 because their lease token was stale",
    labels: ["operation"],
  },
  queueDepth: {
    name: "overseer_queue_depth",
    help: "Tasks not yet finished, by type and state",
    labels: ["type", "state"],
  },
  queueOldestAge: {
    name: "overseer_queue_oldest_age_seconds",
    help: "Age of the oldest task in each type and state",
    labels: ["type", "state"],
  },
  queueWait: {
    name: "overseer_task_queue_wait_seconds",
    help: "Time from a task becoming claimable to its claim",
    labels: ["type"],
  },
  taskDuration: {
    name: "overseer_task_duration_seconds",
    help: "Attempt duration from claim to outcome",
    labels: ["type", "outcome"],
  },
  httpDuration: {
    name: "overseer_http_request_duration_seconds",
    help: "HTTP request duration by route template",
    labels: ["method", "route", "status_code"],
  },
  pipelineRunsStarted: {
    name: "overseer_pipeline_runs_started_total",
    help: "Pipeline runs started, by template",
    labels: ["template"],
  },
  pipelineRunsFinished: {
    name: "overseer_pipeline_runs_finished_total",
    help: "Pipeline runs that ended, by template and final state (completed, failed, cancelled)",
    labels: ["template", "state"],
  },
  pipelineRunDuration: {
    name: "overseer_pipeline_run_duration_seconds",
    help: "Pipeline run duration from start to its final state",
    labels: ["template", "state"],
  },
  pipelineStepDuration: {
    name: "overseer_pipeline_step_duration_seconds",
    help: "Pipeline step duration from start to completion or failure (step ids come from templates: bounded)",
    labels: ["template", "step", "outcome"],
  },
  pipelineStepRetries: {
    name: "overseer_pipeline_step_retries_total",
    help: "Pipeline step retries: automatic attempt retries and operator retries",
    labels: ["template", "step", "kind"],
  },
  pipelineRuns: {
    name: "overseer_pipeline_runs",
    help: "Pipeline runs not yet finished, by template and state (read from Postgres at scrape)",
    labels: ["template", "state"],
  },
  scheduleFires: {
    name: "overseer_schedule_fires_total",
    help: "Schedule ticks that started a run (each tick once across replicas)",
    labels: ["template"],
  },
  operatorActions: {
    name: "overseer_operator_actions_total",
    help: "Audited operator actions",
    labels: ["action"],
  },
  overrides: {
    name: "overseer_overrides_total",
    help: "Emergency override steps by action and outcome (dry_run, executed, rejected, undone, expired)",
    labels: ["action", "outcome"],
  },
  overrideActive: {
    name: "overseer_override_active",
    help: "Emergency overrides in force by action (read from Postgres by every replica about once a second)",
    labels: ["action"],
  },
  llmTokens: {
    name: "overseer_llm_tokens_total",
    help: "Tokens of recorded LLM calls, by model, agent role and type (input or output)",
    labels: ["model", "role", "type"],
  },
  llmCost: {
    name: "overseer_llm_cost_usd_total",
    help: "Cost in USD of recorded LLM calls (unpriced models count 0)",
    labels: ["model", "role"],
  },
  llmCallDuration: {
    name: "overseer_llm_call_duration_seconds",
    help: "Wall time of recorded LLM calls, retries and backoff included",
    labels: ["model"],
  },
  llmTimeToFirstToken: {
    name: "overseer_llm_time_to_first_token_seconds",
    help: "Time to the first token of recorded streaming LLM calls",
    labels: ["model"],
  },
  llmErrors: {
    name: "overseer_llm_errors_total",
    help: "Recorded LLM calls that failed, by model and error type",
    labels: ["model", "error_type"],
  },
  llmBudgetSpent: {
    name: "overseer_llm_budget_spent_usd",
    help: "LLM spend in USD of each budget's scope in its current period (read from Postgres at scrape)",
    labels: ["scope", "target", "period"],
  },
  llmBudgetLimit: {
    name: "overseer_llm_budget_limit_usd",
    help: "Each budget's soft and hard limits in USD",
    labels: ["scope", "target", "period", "limit"],
  },
  llmBudgetUsed: {
    name: "overseer_llm_budget_used_ratio",
    help: "Spend divided by each limit of a budget (1 = the limit is used up)",
    labels: ["scope", "target", "period", "limit"],
  },
  llmBudgetBurnRate: {
    name: "overseer_llm_budget_burn_rate",
    help: "Share of the limit spent divided by the share of the period gone (1 = on course to spend exactly the limit)",
    labels: ["scope", "target", "period"],
  },
  budgetApprovalsPending: {
    name: "overseer_budget_approvals_pending",
    help: "Mission budget steps waiting for an operator's approval",
    labels: [],
  },
  budgetSteps: {
    name: "overseer_budget_step_outcomes_total",
    help: "Verdicts of mission budget steps: pass, warn, block, await_approval, approved, rejected",
    labels: ["template", "outcome"],
  },
  feedback: {
    name: "overseer_feedback_total",
    help: "Ratings recorded, by what was rated and score (1..5)",
    labels: ["target", "score"],
  },
  wsClients: {
    name: "overseer_ws_clients",
    help: "WebSocket feed clients connected to this replica, by feed",
    labels: ["feed"],
  },
  wsMessagesSent: {
    name: "overseer_ws_messages_sent_total",
    help: "Event messages sent to WebSocket feed clients, by feed",
    labels: ["feed"],
  },
  wsClientsDropped: {
    name: "overseer_ws_clients_dropped_total",
    help: "WebSocket feed clients this replica disconnected, by reason",
    labels: ["reason"],
  },
  wsClientsRefused: {
    name: "overseer_ws_clients_refused_total",
    help: "WebSocket feed upgrades this replica refused at a connection cap, by reason",
    labels: ["reason"],
  },
  agentSessions: {
    name: "overseer_agent_sessions_open",
    help: "Agent sessions (WebSocket) open on this replica",
    labels: [],
  },
  agentSessionRequests: {
    name: "overseer_agent_session_request_duration_seconds",
    help: "Requests over agent sessions, by operation and the HTTP status their answer carries (heartbeat, claim, progress, complete, fail, release)",
    labels: ["op", "status_code"],
  },
  agentSessionDisconnects: {
    name: "overseer_agent_session_disconnects_total",
    help: "Agent sessions that closed on this replica, by reason (lost: closed without a goodbye)",
    labels: ["reason"],
  },
  agentSessionGraceExpiries: {
    name: "overseer_agent_session_grace_expiries_total",
    help: "Lost agent sessions not resumed within OVERSEER_SESSION_GRACE_MS: the agent was declared dead",
    labels: [],
  },
  agentSessionsResumed: {
    name: "overseer_agent_sessions_resumed_total",
    help: "Agent sessions opened on this replica that took over an agent's earlier session without a goodbye (a reconnect)",
    labels: [],
  },
  reconcileRepairs: {
    name: "overseer_reconcile_repairs_total",
    help: "Drift the reconciler repaired",
    labels: ["kind"],
  },
  loopErrors: { name: "overseer_loop_errors_total", help: "Errors in background loops", labels: ["loop"] },
  retentionDeleted: {
    name: "overseer_retention_deleted_rows_total",
    help: "Rows deleted by the leader's retention passes, by table",
    labels: ["table"],
  },
  managedAgentRestarts: {
    name: "overseer_managed_agent_restarts_total",
    help: "Restarts of managed agent processes by this replica, by entry name and reason (crashed, exited, requested)",
    labels: ["name", "reason"],
  },
  managedAgents: {
    name: "overseer_managed_agents",
    help: "Managed agent processes of this replica by entry name and supervisor state",
    labels: ["name", "state"],
  },
  managedAgentGaveUp: {
    name: "overseer_managed_agent_gave_up_total",
    help: "Managed agent processes given up after too many restarts in the intensity window",
    labels: ["name"],
  },
  agentRestarts: {
    name: "overseer_agent_restarts_total",
    help: "Operator or auto-heal restarts and drains of agents, by mode and how (managed process or remote command)",
    labels: ["mode", "via"],
  },
  healActions: {
    name: "overseer_heal_actions_total",
    help: "Auto-heal actions by strategy, action and outcome (executed, failed, skipped)",
    labels: ["strategy", "action", "outcome"],
  },
  probeSuccess: {
    name: "overseer_probe_success",
    help: "1 when the probe's last run succeeded, 0 when it failed (the canary: per agent role, on the leader)",
    labels: ["probe", "role"],
  },
  probeDuration: {
    name: "overseer_probe_duration_seconds",
    help: "Duration of successful probe runs, from the canary task's submission to its completion",
    labels: ["probe", "role"],
  },
  probeRuns: {
    name: "overseer_probe_runs_total",
    help: "Probe runs by outcome (success, failed, timeout)",
    labels: ["probe", "role", "outcome"],
  },
  dependencyUp: {
    name: "overseer_dependency_up",
    help: "1 when the dependency answered its last check",
    labels: ["dependency"],
  },
  // The figure gauges (docs/figures.md), named in the figures registry.
  ...FIGURE_METRICS,
} as const;

/** Buckets for latencies from milliseconds to minutes. */
export const LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
