/** Span names and attribute keys, in one place (see shared/design/architecture.md, "Names are data"). */
export const SPANS = {
  taskSubmit: "overseer.task.submit",
  taskClaim: "overseer.task.claim",
  taskComplete: "overseer.task.complete",
  taskFail: "overseer.task.fail",
  livenessSweep: "overseer.liveness.sweep",
  reconcile: "overseer.reconcile",
} as const;

export const SPAN_ATTRIBUTES = {
  taskId: "overseer.task.id",
  taskType: "overseer.task.type",
  taskAttempt: "overseer.task.attempt",
  agentId: "gen_ai.agent.id",
  agentRole: "overseer.agent.role",
  namespace: "overseer.namespace",
} as const;
