// Deterministic trace and span ids (docs/tracing.md, "Deterministic ids"). Runs and tasks outlive a
// daemon process, so their spans cannot be held open in memory: each span is emitted once, when its
// thing ends, by the replica that commits the ending, with ids every replica derives the same way.

import { createHash, randomBytes } from "node:crypto";
import type { IdGenerator } from "@opentelemetry/sdk-trace-base";
import { formatTraceparent, parseTraceparent } from "../../contract/telemetry/trace-context.ts";

export { formatTraceparent, parseTraceparent };

const HEX32 = /^[0-9a-f]{32}$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

function digest(parts: Array<string | number>): Buffer {
  return createHash("sha256").update(parts.join("\u0000")).digest();
}

/**
 * The trace of a run (or of a task outside any run): the UUID's 32 hex digits, so the id an
 * operator sees in the API finds the trace in Tempo or Jaeger. Anything else is hashed.
 */
export function traceIdOf(id: string): string {
  const hex = id.replaceAll("-", "").toLowerCase();
  if (HEX32.test(hex) && hex !== ZERO_TRACE) return hex;
  return digest(["trace", id]).subarray(0, 16).toString("hex");
}

function spanId(parts: Array<string | number>): string {
  const hex = digest(parts).subarray(0, 8).toString("hex");
  return hex === ZERO_SPAN ? "0000000000000001" : hex;
}

export const spanIds = {
  run: (runId: string) => spanId(["run", runId]),
  step: (runId: string, stepId: string, generation: number) => spanId(["step", runId, stepId, generation]),
  /** The root span of a task outside any run. */
  task: (taskId: string) => spanId(["task", taskId]),
  attempt: (taskId: string, attempt: number) => spanId(["attempt", taskId, attempt]),
};

/** Where a task's attempts hang: stored with the task (`tasks.trace_parent`). */
export interface TaskTraceParent {
  traceId: string;
  spanId: string;
}

/** The `tasks.trace_parent` of a pipeline step's task: its step span in the run's trace. */
export function stepTaskTraceParent(runId: string, stepId: string, generation: number): string {
  return formatTraceparent({
    traceId: traceIdOf(runId),
    spanId: spanIds.step(runId, stepId, generation),
    traceFlags: 1,
  });
}

/** The span a task's attempts are children of: the stored step span, else the task's own root span. */
export function attemptParentOf(taskId: string, storedTraceParent: string | null): TaskTraceParent {
  const stored = storedTraceParent ? parseTraceparent(storedTraceParent) : undefined;
  if (stored) return { traceId: stored.traceId, spanId: stored.spanId };
  return { traceId: traceIdOf(taskId), spanId: spanIds.task(taskId) };
}

/**
 * Random ids, except for the span being started right now: `use` sets the ids of the next span
 * (and its trace id, for a root), then starts it synchronously, so no other span can take them.
 */
export class DeterministicIdGenerator implements IdGenerator {
  private nextTraceId: string | undefined;
  private nextSpanId: string | undefined;

  use<T>(ids: { traceId?: string; spanId: string }, start: () => T): T {
    this.nextTraceId = ids.traceId;
    this.nextSpanId = ids.spanId;
    try {
      return start();
    } finally {
      this.nextTraceId = undefined;
      this.nextSpanId = undefined;
    }
  }

  generateTraceId(): string {
    const id = this.nextTraceId;
    this.nextTraceId = undefined;
    return id ?? randomBytes(16).toString("hex");
  }

  generateSpanId(): string {
    const id = this.nextSpanId;
    this.nextSpanId = undefined;
    return id ?? randomBytes(8).toString("hex");
  }
}
