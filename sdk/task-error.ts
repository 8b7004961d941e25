import { errorMessage } from "./runtime.ts";
import type { TaskFailure } from "./types.ts";

/** Throw from a handler to choose how the failure is reported; other errors count as retryable "unknown". */
export class TaskError extends Error {
  override readonly name = "TaskError";
  readonly category: string;
  readonly retryable: boolean;

  constructor(message: string, opts?: { category?: string; retryable?: boolean; cause?: unknown }) {
    super(message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.category = opts?.category ?? "unknown";
    this.retryable = opts?.retryable ?? true;
  }
}

/** Maps whatever a handler threw to the `error` body of `/fail`. */
export function toTaskFailure(err: unknown): TaskFailure {
  if (err instanceof TaskError)
    return { message: err.message, category: err.category, retryable: err.retryable };
  return { message: errorMessage(err) || "handler failed", category: "unknown", retryable: true };
}

/** Why a task's AbortSignal fired. */
export type TaskAbortCause = "cancelled" | "revoked" | "timeout" | "shutdown";

/** The `reason` of an aborted task signal; handlers may inspect `abortCause` to tell the cases apart. */
export class TaskAbortedError extends Error {
  override readonly name = "AbortError";
  readonly abortCause: TaskAbortCause;

  constructor(abortCause: TaskAbortCause, message: string) {
    super(message);
    this.abortCause = abortCause;
  }
}
