/**
 * Span names and attribute keys, in one place (see shared/design/architecture.md, "Names are data"):
 * the daemon's spans and the agent SDK's (the handler span here, the GenAI spans of LLM calls in
 * genai-attributes.ts), so this module names every span a trace of Overseer can hold.
 * docs/tracing.md describes the tree.
 */
export { ATTR as LLM_SPAN_ATTRIBUTES, chatSpanName } from "./genai-attributes.ts";

/** Name of the handler span. */
export const TASK_HANDLE_SPAN = "overseer.task.handle";

/** Attributes of the handler span. */
export const TASK_SPAN_ATTR = {
  taskId: "overseer.task.id",
  taskType: "overseer.task.type",
  attempt: "overseer.task.attempt",
  agentId: "gen_ai.agent.id",
  runId: "overseer.run.id",
  stepId: "overseer.step.id",
  /** completed, failed, cancelled, revoked, unreported or released. */
  outcome: "overseer.task.outcome",
  errorType: "error.type",
} as const;
export { TASK_SPAN_ATTR as HANDLER_SPAN_ATTRIBUTES };

export const SPANS = {
  /** Root of a run's trace: created → finished (emitted when the run ends). */
  pipelineRun: "overseer.pipeline.run",
  /** One step generation: started → finished (a skipped step that never started has zero length). */
  pipelineStep: "overseer.pipeline.step",
  /** Root of the trace of a task outside any run: created → finished. */
  task: "overseer.task",
  /** One lease: claimed → ended; its parent is the step span, or the task span. */
  taskAttempt: "overseer.task.attempt",
  /** Agent side: the handler's run of one attempt (sdk/task-span.ts), child of the attempt span. */
  taskHandle: TASK_HANDLE_SPAN,
} as const;

export const SPAN_ATTRIBUTES = {
  runId: "overseer.run.id",
  template: "overseer.pipeline.template",
  templateVersion: "overseer.pipeline.template_version",
  runState: "overseer.run.state",
  priority: "overseer.run.priority",
  failedSteps: "overseer.run.failed_steps",
  stepId: "overseer.step.id",
  stepGeneration: "overseer.step.generation",
  stepState: "overseer.step.state",
  /** `agent` or `builtin`. */
  stepExecutor: "overseer.step.executor",
  skipReason: "overseer.step.skip_reason",
  taskId: "overseer.task.id",
  taskType: "overseer.task.type",
  taskState: "overseer.task.state",
  taskAttempt: "overseer.task.attempt",
  taskAttempts: "overseer.task.attempts",
  /** completed, failed, timed_out, lost, released or cancelled. */
  attemptOutcome: "overseer.attempt.outcome",
  /** The task's state after the attempt: queued (retry, requeue), completed, dead, failed, cancelled. */
  attemptDecision: "overseer.attempt.decision",
  errorType: "error.type",
  agentId: "gen_ai.agent.id",
  /** Resource attributes of the daemon's spans. */
  namespace: "overseer.namespace",
  replicaId: "overseer.replica.id",
} as const;
