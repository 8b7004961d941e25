// The agent-side span of one task attempt: `overseer.task.handle`, a child of the attempt span the
// daemon named in the claim answer's `traceparent`, so an agent's spans (and the GenAI spans of
// ctx.llm calls, which nest under it) join the pipeline run's trace. See docs/tracing.md.
//
// Only @opentelemetry/api is used: with no SDK registered every call below is a no-op.

import {
  type Attributes,
  type Context,
  context,
  isSpanContextValid,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { TRACER_NAME } from "../contract/telemetry/genai-attributes.ts";
import { TASK_HANDLE_SPAN, TASK_SPAN_ATTR } from "../contract/telemetry/span-names.ts";
import { formatTraceparent, parseTraceparent } from "../contract/telemetry/trace-context.ts";
import { errorMessage } from "./runtime.ts";
import type { ClaimedTask } from "./types.ts";
import { SDK_VERSION } from "./version.ts";

export { TASK_HANDLE_SPAN, TASK_SPAN_ATTR };

export class TaskSpan {
  /** The context handlers run in: the handler span active, so nested spans are its children. */
  readonly context: Context;
  private readonly span: Span;
  /** The daemon's attempt span, when the claim answer named one. */
  private readonly parentSpanId: string | undefined;
  private ended = false;

  constructor(task: ClaimedTask, agentId: string, pipeline: { runId: string; stepId: string } | null) {
    const parent = parseTraceparent(task.traceparent);
    this.parentSpanId = parent?.spanId;
    // Without a traceparent the attempt starts a trace of its own (never the claim loop's context).
    const parentContext = parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
    const attributes: Attributes = {
      [TASK_SPAN_ATTR.taskId]: task.id,
      [TASK_SPAN_ATTR.taskType]: task.type,
      [TASK_SPAN_ATTR.attempt]: task.attempt,
      [TASK_SPAN_ATTR.agentId]: agentId,
    };
    if (pipeline) {
      attributes[TASK_SPAN_ATTR.runId] = pipeline.runId;
      attributes[TASK_SPAN_ATTR.stepId] = pipeline.stepId;
    }
    const tracer = trace.getTracer(TRACER_NAME, SDK_VERSION);
    this.span = tracer.startSpan(TASK_HANDLE_SPAN, { kind: SpanKind.CONSUMER, attributes }, parentContext);
    this.context = trace.setSpan(parentContext, this.span);
  }

  /** Trace and span ids for log lines; empty when there is no valid span context. */
  logBindings(): Record<string, string> {
    const sc = this.span.spanContext();
    return isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
  }

  /**
   * The `traceparent` to send back with complete/fail: this span's, when a tracing SDK made one
   * (without an SDK the no-op span only echoes the daemon's own context, which is not sent).
   */
  traceparent(): string | undefined {
    const sc = this.span.spanContext();
    if (!isSpanContextValid(sc) || sc.spanId === this.parentSpanId) return undefined;
    return formatTraceparent(sc);
  }

  /** Runs `fn` with the handler span active. */
  run<T>(fn: () => T): T {
    return context.with(this.context, fn);
  }

  /** Ends the span with how the handler ended; later calls do nothing. */
  end(outcome: string, error?: { err: unknown; type: string }): void {
    if (this.ended) return;
    this.ended = true;
    this.span.setAttribute(TASK_SPAN_ATTR.outcome, outcome);
    if (error !== undefined) {
      this.span.setAttribute(TASK_SPAN_ATTR.errorType, error.type);
      if (error.err instanceof Error) this.span.recordException(error.err);
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error.err) });
    }
    this.span.end();
  }
}
