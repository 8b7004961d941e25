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

// The daemon's limits on /fail bodies: an out-of-range field would get the whole report rejected (400).
const MAX_MESSAGE = 10_000;
const CATEGORY = /^[a-z][a-z0-9_]{0,39}$/;

/** Fits a failure into the daemon's limits: non-empty bounded message, category like `snake_case`. */
export function normalizeFailure(failure: TaskFailure): TaskFailure {
  const message = (failure.message || "task failed").slice(0, MAX_MESSAGE);
  const out: TaskFailure = { message, category: normalizeCategory(failure.category) };
  if (failure.retryable !== undefined) out.retryable = failure.retryable;
  return out;
}

function normalizeCategory(category: string | undefined): string {
  if (category === undefined || CATEGORY.test(category)) return category ?? "unknown";
  const cleaned = category
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")
    .replace(/^[^a-z]+/, "")
    .slice(0, 40);
  return cleaned === "" ? "unknown" : cleaned;
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
