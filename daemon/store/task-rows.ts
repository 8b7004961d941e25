import type { AttemptOutcome, TaskState } from "../tasks/task-state.ts";

/** A task as the API shows it. Lease tokens are decimal strings (bigint in Postgres). */
export interface TaskView {
  id: string;
  type: string;
  state: TaskState;
  payload: unknown;
  priority: number;
  maxAttempts: number;
  timeoutMs: number;
  idempotencyKey: string | null;
  attempts: AttemptView[];
  failures: number;
  progress: { percent: number | null; message: string | null } | null;
  result?: unknown;
  error?: unknown;
  deadReason?: string;
  leaseAgentId: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface AttemptView {
  attempt: number;
  agentId: string;
  claimedAt: string;
  finishedAt: string | null;
  outcome: AttemptOutcome | null;
  error: unknown;
}

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

export const iso = (value: Date | null | undefined): string | null => (value ? value.toISOString() : null);
