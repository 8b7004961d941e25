import type { Static } from "typebox";
import type {
  AttemptView as AttemptViewSchema,
  TaskView as TaskViewSchema,
} from "../../contract/schemas/tasks.ts";
import type { DispatchLane } from "../tasks/dispatch-order.ts";
import type { AttemptOutcome, FailureDecision } from "../tasks/task-state.ts";

/** A task as the API shows it (the contract's TaskView). Lease tokens are decimal strings (bigint in Postgres). */
export type TaskView = Static<typeof TaskViewSchema>;
export type AttemptView = Static<typeof AttemptViewSchema>;

/** What an agent receives for each claimed task. */
export interface Lease {
  id: string;
  type: string;
  payload: unknown;
  attempt: number;
  leaseToken: string;
  timeoutMs: number;
  /** Milliseconds between the task becoming claimable and this claim. */
  queueWaitMs: number;
  /** `tasks.trace_parent`: the step span of a pipeline step's task, null otherwise (docs/tracing.md). */
  traceParent: string | null;
  /** W3C traceparent of this attempt's span for the agent; set only while tracing is on. */
  traceparent?: string;
}

/** A task the caller must put (back) on the queue after the transaction committed. */
export interface EnqueueOrder {
  id: string;
  type: string;
  priority: number;
  delayMs: number;
  /** `rescue` when its lease was revoked: it goes ahead of fresh tasks of its priority (absent: fresh). */
  lane?: DispatchLane;
}

export interface NewTask {
  id: string;
  type: string;
  payload: unknown;
  priority: number;
  maxAttempts: number;
  timeoutMs: number;
  idempotencyKey: string | null;
  /** The span its attempts hang under (a pipeline step's); null or absent for a task of its own. */
  traceParent?: string | null;
}

/** An attempt that ended without completing, and what was decided for its task (committed). */
export interface AttemptEnd {
  taskId: string;
  type: string;
  agentId: string;
  attempt: number;
  outcome: Exclude<AttemptOutcome, "completed" | "cancelled">;
  category: string;
  retryable: boolean;
  durationMs: number;
  decision: FailureDecision;
  priority: number;
  /** For the attempt's span (docs/tracing.md): Postgres times and the task's trace parent. */
  claimedAt: Date;
  finishedAt: Date;
  createdAt: Date;
  traceParent: string | null;
  message: string | null;
}

/** A task cancelled inside a transaction; `attempt` is the lease it revoked, if it was active. */
export interface CancelledTask {
  taskId: string;
  type: string;
  agentId: string | null;
  reason: string;
  createdAt: Date;
  finishedAt: Date;
  traceParent: string | null;
  attempts: number;
  attempt: { attempt: number; claimedAt: Date } | null;
}

/** A completion; the times and trace parent are for the attempt's span (absent for a repeat). */
export interface CompletedTask {
  type: string;
  attempt: number;
  durationMs: number;
  repeated: boolean;
  claimedAt?: Date;
  finishedAt?: Date;
  createdAt?: Date;
  traceParent?: string | null;
}

export const iso = (value: Date | null | undefined): string | null => (value ? value.toISOString() : null);
