import type { RequeueReason } from "../events/catalogue.ts";
import type { EventBus } from "../events/event-bus.ts";
import type { AttemptEnd, CompletedTask, EnqueueOrder } from "../store/task-rows.ts";
import { traceSpans } from "../telemetry/tracing.ts";
import { laneAfter } from "./dispatch-order.ts";
import type { TaskOutcomePort } from "./task-ports.ts";

/** Why attempts ended without completion, for the requeue reason of their events. */
export type EndContext = "agent_failure" | "released" | "timed_out" | "agent_dead" | "agent_left";

/**
 * A completion just committed (not a repeat): the attempt's and the task's spans, the
 * `task.completed` event in the attempt's span context, and the outcome port's task end.
 */
export function announceCompletion(
  bus: EventBus,
  outcomes: TaskOutcomePort,
  c: { taskId: string; agentId: string; done: CompletedTask; agentTraceparent?: string },
): void {
  const { taskId, agentId, done } = c;
  const traceParent = done.traceParent ?? null;
  if (done.claimedAt && done.finishedAt && done.createdAt) {
    const span = { taskId, type: done.type, traceParent, finishedAt: done.finishedAt };
    traceSpans.attemptEnded({
      ...span,
      attempt: done.attempt,
      agentId,
      claimedAt: done.claimedAt,
      outcome: "completed",
      decision: "completed",
      agentTraceparent: c.agentTraceparent ?? null,
    });
    traceSpans.taskEnded({ ...span, state: "completed", attempts: done.attempt, createdAt: done.createdAt });
  }
  traceSpans.inAttempt(taskId, traceParent, done.attempt, () =>
    bus.emit("task.completed", {
      taskId,
      taskType: done.type,
      agentId,
      attempt: done.attempt,
      durationMs: done.durationMs,
    }),
  );
  outcomes.taskEnded({ taskId, taskType: done.type, state: "completed" });
}

/** Emits the spans of an ended attempt, and of its task when that ended too (docs/tracing.md). */
export function traceAttemptEnd(end: AttemptEnd, agentTraceparent?: string): void {
  const d = end.decision;
  const decision = d.kind === "retry" || d.kind === "requeue" ? "queued" : d.kind;
  const span = {
    taskId: end.taskId,
    type: end.type,
    traceParent: end.traceParent,
    finishedAt: end.finishedAt,
  };
  traceSpans.attemptEnded({
    ...span,
    attempt: end.attempt,
    agentId: end.agentId,
    claimedAt: end.claimedAt,
    outcome: end.outcome,
    decision,
    category: end.category,
    ...(end.message ? { message: end.message } : {}),
    agentTraceparent: agentTraceparent ?? null,
  });
  if (d.kind === "dead" || d.kind === "failed") {
    traceSpans.taskEnded({
      ...span,
      state: d.kind,
      attempts: end.attempt,
      createdAt: end.createdAt,
      message: d.reason,
    });
  }
}

/**
 * Emits the events of one ended attempt and tells the outcome port when its task ended; returns
 * the enqueue order when the task must run again (retry after a delay, or requeue now).
 */
export function announceAttemptEnd(
  bus: EventBus,
  outcomes: TaskOutcomePort,
  end: AttemptEnd,
  context: EndContext,
): EnqueueOrder | null {
  const base = { taskId: end.taskId, taskType: end.type };
  if (end.outcome !== "released") {
    bus.emit("task.failed", {
      ...base,
      agentId: end.agentId,
      attempt: end.attempt,
      category: end.category,
      retryable: end.retryable,
      durationMs: end.durationMs,
    });
  }
  const d = end.decision;
  if (d.kind === "retry") {
    bus.emit("task.retry_scheduled", { ...base, attempt: end.attempt, delayMs: d.delayMs });
    return {
      id: end.taskId,
      type: end.type,
      priority: end.priority,
      delayMs: d.delayMs,
      lane: laneAfter(end.outcome),
    };
  }
  if (d.kind === "requeue") {
    const reason: RequeueReason = context === "agent_failure" ? "released" : context;
    bus.emit("task.requeued", { ...base, agentId: end.agentId, reason, attempt: end.attempt });
    return {
      id: end.taskId,
      type: end.type,
      priority: end.priority,
      delayMs: 0,
      lane: laneAfter(end.outcome),
    };
  }
  if (d.kind === "dead") {
    bus.emit("task.dead_lettered", { ...base, reason: d.reason });
    outcomes.taskEnded({ taskId: end.taskId, taskType: end.type, state: "dead" });
  } else {
    bus.emit("task.failed_permanently", { ...base, reason: d.reason });
    outcomes.taskEnded({ taskId: end.taskId, taskType: end.type, state: "failed" });
  }
  return null;
}
