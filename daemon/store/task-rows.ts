import type { Static } from "typebox";
import type {
  AttemptView as AttemptViewSchema,
  TaskView as TaskViewSchema,
} from "../../contract/schemas/tasks.ts";

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
