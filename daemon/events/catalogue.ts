import type { PROBE_OUTCOMES } from "../../contract/schemas/system.ts";
/**
 * The catalogue of every fact the daemon emits. One event per state change; sinks (metrics, logs,
 * and later WebSocket feeds and traces) subscribe to the bus instead of being called from five places.
 */
export interface EventPayloads {
  "agent.registered": { agentId: string; name: string; role: string; capabilities: string[] };
  "agent.recovered": { agentId: string; role: string; from: AgentStateName };
  "agent.stale": { agentId: string; role: string; from: AgentStateName; heartbeatAgeMs: number };
  "agent.dead": { agentId: string; role: string; from: AgentStateName; heartbeatAgeMs: number };
  "agent.draining": { agentId: string; role: string; from: AgentStateName };
  "agent.left": { agentId: string; role: string; from: AgentStateName };
  "agent.heartbeat": { agentId: string };
  "task.submitted": { taskId: string; taskType: string; priority: number };
  "task.claimed": { taskId: string; taskType: string; agentId: string; attempt: number; queueWaitMs: number };
  "task.progress": { taskId: string; taskType: string; agentId: string; percent?: number; message?: string };
  "task.completed": {
    taskId: string;
    taskType: string;
    agentId: string;
    attempt: number;
    durationMs: number;
  };
  "task.failed": {
    taskId: string;
    taskType: string;
    agentId: string;
    attempt: number;
    category: string;
    retryable: boolean;
    durationMs: number;
  };
  "task.retry_scheduled": { taskId: string; taskType: string; attempt: number; delayMs: number };
  "task.requeued": {
    taskId: string;
    taskType: string;
    agentId: string;
    reason: RequeueReason;
    attempt: number;
  };
  "task.dead_lettered": { taskId: string; taskType: string; reason: string };
  "task.failed_permanently": { taskId: string; taskType: string; reason: string };
  "task.retried_by_operator": { taskId: string; taskType: string };
  "task.cancelled": { taskId: string; taskType: string; reason: string };
  "pipeline.template.saved": { template: string; version: number; source: string };
  "pipeline.run.started": { runId: string; template: string; version: number; priority: number };
  "pipeline.run.completed": { runId: string; template: string; durationMs: number };
  "pipeline.run.failed": { runId: string; template: string; durationMs: number; failedSteps: string[] };
  "pipeline.run.cancelled": { runId: string; template: string; durationMs: number; reason: string };
  "pipeline.run.paused": { runId: string; template: string };
  "pipeline.run.resumed": { runId: string; template: string };
  "pipeline.run.snoozed": { runId: string; template: string; until: string };
  "pipeline.run.escalated": { runId: string; template: string; priority: number };
  "pipeline.run.progress": { runId: string; template: string; percent: number };
  "pipeline.step.started": { runId: string; template: string; stepId: string; taskId: string | null };
  "pipeline.step.progress": {
    runId: string;
    template: string;
    stepId: string;
    percent?: number;
    message?: string;
  };
  "pipeline.step.completed": { runId: string; template: string; stepId: string; durationMs: number };
  "pipeline.step.failed": {
    runId: string;
    template: string;
    stepId: string;
    durationMs: number;
    reason: string;
  };
  "pipeline.step.skipped": { runId: string; template: string; stepId: string; reason: string };
  "pipeline.step.retried": { runId: string; template: string; stepId: string; generation: number };
  "pipeline.step.input_modified": { runId: string; template: string; stepId: string };
  "pipeline.artifact.created": { runId: string; artifactId: string; stepId: string | null; type: string };
  "conversation.opened": { runId: string; conversationId: string; stepId: string };
  "conversation.message": { runId: string; conversationId: string; role: string };
  "conversation.completed": { runId: string; conversationId: string; stepId: string };
  "schedule.saved": { scheduleId: string; name: string; template: string };
  "schedule.state_changed": { scheduleId: string; name: string; state: string };
  "schedule.deleted": { scheduleId: string; name: string };
  "schedule.fired": { scheduleId: string; name: string; template: string; runId: string; tickAt: string };
  "llm.call": {
    callId: string;
    agentId: string;
    role: string;
    provider: string;
    model: string;
    source: string;
    status: "ok" | "error";
    errorType: string | null;
    inputTokens: number;
    outputTokens: number;
    costUsd: number;
    priced: boolean;
    latencyMs: number;
    timeToFirstTokenMs: number | null;
    taskId: string | null;
    runId: string | null;
  };
  "budget.saved": { budgetId: string; scope: string; target: string; period: string };
  "budget.deleted": { budgetId: string; scope: string; target: string; period: string };
  /** A mission budget step's verdict: pass (maybe with warnings), block, or await an operator. */
  "budget.step": {
    runId: string;
    template: string;
    stepId: string;
    outcome: "pass" | "warn" | "block" | "await_approval" | "approved" | "rejected";
    reason: string | null;
  };
  "feedback.recorded": { feedbackId: string; targetKind: "run" | "step" | "llm_call"; score: number };
  "operator.action": { actor: string; action: OperatorAction; targetKind: string; targetId: string };
  /** A step of an emergency override (docs/overrides.md); `overrideId` is null for dry runs and rejections. */
  "override.step": {
    overrideId: string | null;
    action: string;
    actor: string;
    outcome: "dry_run" | "executed" | "rejected" | "undone" | "expired";
    /** The operator's reason; for `rejected`, why the confirmation failed. */
    reason: string;
    /** What the action reaches (override-rules.ts OVERRIDE_SCOPE), so a log line says it. */
    scope: string;
  };
  "lease.conflict": { taskId: string; operation: "progress" | "complete" | "fail" | "release" };
  "leader.acquired": { epoch: number };
  /** Why: lease_lost, redis_error, fenced, expired_locally (no renewal for a lease time), stopping. */
  "leader.lost": { epoch: number; reason: string };
  /** A leader-only transaction refused by the fence: a newer leader has taken over (docs/scaling.md). */
  "leader.fenced": { epoch: number };
  "reconcile.repaired": { kind: string; count: number };
  "loop.error": { loop: string; message: string };
  /** A retention pass (docs/retention.md): rows deleted by table; `complete` false when a target hit its statement bound. */
  "retention.completed": {
    deleted: Record<string, number>;
    statements: number;
    durationMs: number;
    complete: boolean;
  };
  /** Managed agents (recovery/managed): this replica's supervisor started, saw exit, or gave up a child. */
  "managed.started": { name: string; replica: number; pid: number; restarts: number };
  "managed.exited": {
    name: string;
    replica: number;
    pid: number;
    code: number | null;
    signal: string | null;
    decision: "restart" | "give_up" | "leave_down";
    /** For a restart: crashed, exited or requested; otherwise why not. */
    reason: string;
    delayMs: number;
  };
  "managed.gave_up": { name: string; replica: number; reason: string };
  /** An operator or auto-heal restarted or drained an agent (its leases were released first). */
  "agent.restart_requested": {
    agentId: string;
    mode: "restart" | "drain";
    managed: boolean;
    releasedTasks: number;
    actor: string;
  };
  /** One auto-heal action (docs/recovery.md); `trigger` says whether an operator or the leader's loop ran it. */
  "heal.action": {
    strategy: string;
    action: string;
    target: string;
    outcome: "executed" | "failed" | "skipped";
    trigger: "api" | "loop";
  };
  /** A probe run ended (the canary: one synthetic task through an agent of `role`). */
  "probe.completed": {
    probe: string;
    role: string;
    outcome: ProbeOutcome;
    durationMs: number;
    taskId: string | null;
    detail: string;
  };
}

/** How a probe run ended: `timeout` means it was cancelled unanswered. */
export type ProbeOutcome = (typeof PROBE_OUTCOMES)[number];

export type AgentStateName = "active" | "stale" | "dead" | "draining" | "left";

/** Why a lease ended and the task went straight back to the queue. */
export type RequeueReason = "agent_dead" | "agent_left" | "released" | "timed_out";

export type EventType = keyof EventPayloads;

/** Every event type, for checks that the catalogue and its consumers agree. */
export const EVENT_TYPES = [
  "agent.registered",
  "agent.recovered",
  "agent.stale",
  "agent.dead",
  "agent.draining",
  "agent.left",
  "agent.heartbeat",
  "task.submitted",
  "task.claimed",
  "task.progress",
  "task.completed",
  "task.failed",
  "task.retry_scheduled",
  "task.requeued",
  "task.dead_lettered",
  "task.failed_permanently",
  "task.retried_by_operator",
  "task.cancelled",
  "pipeline.template.saved",
  "pipeline.run.started",
  "pipeline.run.completed",
  "pipeline.run.failed",
  "pipeline.run.cancelled",
  "pipeline.run.paused",
  "pipeline.run.resumed",
  "pipeline.run.snoozed",
  "pipeline.run.escalated",
  "pipeline.run.progress",
  "pipeline.step.started",
  "pipeline.step.progress",
  "pipeline.step.completed",
  "pipeline.step.failed",
  "pipeline.step.skipped",
  "pipeline.step.retried",
  "pipeline.step.input_modified",
  "pipeline.artifact.created",
  "conversation.opened",
  "conversation.message",
  "conversation.completed",
  "schedule.saved",
  "schedule.state_changed",
  "schedule.deleted",
  "schedule.fired",
  "llm.call",
  "budget.saved",
  "budget.deleted",
  "budget.step",
  "feedback.recorded",
  "operator.action",
  "override.step",
  "lease.conflict",
  "leader.acquired",
  "leader.lost",
  "leader.fenced",
  "reconcile.repaired",
  "loop.error",
  "retention.completed",
  "managed.started",
  "managed.exited",
  "managed.gave_up",
  "agent.restart_requested",
  "heal.action",
  "probe.completed",
] as const satisfies readonly EventType[];

export type OverseerEvent = { [K in EventType]: { type: K; at: number } & EventPayloads[K] }[EventType];
export type EventOf<K extends EventType> = Extract<OverseerEvent, { type: K }>;

/**
 * Every operator action the daemon counts (`operator.action`, `overseer_operator_actions_total`):
 * one list, so the metric's series exist at 0 from the first scrape for each of them and an
 * emitter with an action not listed here does not compile.
 */
export const OPERATOR_ACTIONS = [
  ...(
    [
      "pause",
      "resume",
      "cancel",
      "retry-step",
      "skip-step",
      "snooze",
      "escalate",
      "modify-input",
      "approve-budget",
      "reject-budget",
    ] as const
  ).map((a) => `run.${a}` as const),
  "task.retry",
  "task.reassign",
  "task.cancel",
  "task.priority",
  "coordination.reset",
  "schedule.create",
  "schedule.delete",
  "schedule.pause",
  "schedule.resume",
  "budget.create",
  "budget.update",
  "budget.delete",
  "agent.restart",
  "agent.drain",
] as const;

export type OperatorAction = (typeof OPERATOR_ACTIONS)[number];
