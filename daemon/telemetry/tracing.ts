// The daemon's traces (docs/tracing.md). Started from app/main.ts when OTEL_* configure an
// exporter; otherwise nothing is registered and every function below returns after one null check.
//
// Runs and tasks outlive the process, so no span is held open: each is emitted whole, with start and
// end times from Postgres, when its run, step, task or attempt ends, by the code path that committed
// that ending (exactly one replica does), under ids derived from the run, step and task ids.

import {
  type Attributes,
  context,
  type Link,
  ROOT_CONTEXT,
  SamplingDecision,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type { Sampler } from "@opentelemetry/sdk-trace-base";
import { SPAN_ATTRIBUTES as A, SPANS } from "../../contract/telemetry/span-names.ts";
import {
  startTracing as startSdkTracing,
  type TracingHandle,
} from "../../contract/telemetry/start-tracing.ts";
import type { TracingSettings } from "../../contract/telemetry/tracing-config.ts";
import { VERSION } from "../version.ts";
import {
  attemptParentOf,
  DeterministicIdGenerator,
  formatTraceparent,
  parseTraceparent,
  spanIds,
  traceIdOf,
} from "./trace-ids.ts";

interface Active {
  tracer: Tracer;
  ids: DeterministicIdGenerator;
  sampler: Sampler;
  handle: TracingHandle;
}

let active: Active | null = null;

/** True while a provider is registered (tracing configured and started). */
export function tracingEnabled(): boolean {
  return active !== null;
}

/**
 * Registers the global provider for the daemon's process; null (and nothing registered) when
 * `settings` is null. One per process: a second call while one is running returns null.
 */
export async function startTracing(
  settings: TracingSettings | null,
  resource: { namespace: string },
): Promise<TracingHandle | null> {
  if (!settings || active) return null;
  const ids = new DeterministicIdGenerator();
  const handle = await startSdkTracing(settings, {
    idGenerator: ids,
    resourceAttributes: { "service.version": VERSION, [A.namespace]: resource.namespace },
  });
  const mine: Active = {
    tracer: handle.provider.getTracer("overseer", VERSION),
    ids,
    sampler: handle.sampler,
    handle,
  };
  active = mine;
  return {
    ...handle,
    async shutdown() {
      if (active === mine) active = null;
      await handle.shutdown();
    },
  };
}

/** Whether the sampler keeps `traceId`'s root: every daemon span of the trace follows it. */
function sampled(a: Active, traceId: string, name: string): boolean {
  const r = a.sampler.shouldSample(ROOT_CONTEXT, traceId, name, SpanKind.INTERNAL, {}, []);
  return r.decision === SamplingDecision.RECORD_AND_SAMPLED;
}

interface SpanSpec {
  name: string;
  kind: SpanKind;
  traceId: string;
  spanId: string;
  /** Absent for a trace's root. */
  parentSpanId?: string;
  start: Date;
  end: Date;
  attributes: Attributes;
  links?: Link[];
  error?: { type: string; message: string };
}

function emit(a: Active, s: SpanSpec): void {
  const flags = sampled(a, s.traceId, s.name) ? TraceFlags.SAMPLED : TraceFlags.NONE;
  const parent = s.parentSpanId
    ? trace.setSpanContext(ROOT_CONTEXT, { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: flags })
    : ROOT_CONTEXT;
  const span = a.ids.use({ traceId: s.parentSpanId ? undefined : s.traceId, spanId: s.spanId }, () =>
    a.tracer.startSpan(
      s.name,
      { kind: s.kind, startTime: s.start, attributes: s.attributes, links: s.links ?? [] },
      parent,
    ),
  );
  if (s.error) {
    span.setAttribute(A.errorType, s.error.type);
    span.setStatus({ code: SpanStatusCode.ERROR, message: s.error.message });
  }
  span.end(s.end.getTime() < s.start.getTime() ? s.start : s.end);
}

/** Runs `fn` with a span context active, so log lines written in it carry its trace and span ids. */
function within<T>(a: Active | null, traceId: string, spanId: () => string, fn: () => T): T {
  if (!a) return fn();
  const flags = sampled(a, traceId, "") ? TraceFlags.SAMPLED : TraceFlags.NONE;
  const ctx = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: spanId(), traceFlags: flags });
  return context.with(ctx, fn);
}

const messageOf = (error: unknown): string | undefined => {
  const m = (error as { message?: unknown } | null | undefined)?.message;
  return typeof m === "string" ? m : undefined;
};

export interface AttemptSpanInfo {
  taskId: string;
  type: string;
  attempt: number;
  agentId: string;
  /** `tasks.trace_parent`: the step span, or null for a task outside any run. */
  traceParent: string | null;
  claimedAt: Date;
  finishedAt: Date;
  outcome: "completed" | "failed" | "timed_out" | "lost" | "released" | "cancelled";
  /** What became of the task: queued, completed, dead, failed or cancelled. */
  decision: string;
  category?: string;
  message?: string;
  /** The traceparent the agent sent with complete/fail (its handler span): linked. */
  agentTraceparent?: string | null;
}

export interface TaskSpanInfo {
  taskId: string;
  type: string;
  state: string;
  attempts: number;
  traceParent: string | null;
  createdAt: Date;
  finishedAt: Date;
  message?: string;
}

export interface StepSpanInfo {
  runId: string;
  template: string;
  stepId: string;
  generation: number;
  state: "completed" | "failed" | "skipped" | "cancelled";
  executor: "agent" | "builtin";
  /** Null for a step that never started (skipped or cancelled while pending): a zero-length span. */
  startedAt: Date | null;
  finishedAt: Date;
  taskId?: string | null;
  agentId?: string | null;
  error?: unknown;
  skipReason?: string | null;
}

export interface RunSpanInfo {
  runId: string;
  template: string;
  version: number;
  state: "completed" | "failed" | "cancelled";
  priority: number;
  createdAt: Date;
  finishedAt: Date;
  failedSteps?: string[];
  reason?: string;
}

/** Span emitters and trace contexts of runs, steps, tasks and attempts; no-ops while tracing is off. */
export const traceSpans = {
  /** The claim answer's traceparent for an attempt; undefined while tracing is off. */
  attemptTraceparent(taskId: string, traceParent: string | null, attempt: number): string | undefined {
    const a = active;
    if (!a) return undefined;
    const parent = attemptParentOf(taskId, traceParent);
    const flags = sampled(a, parent.traceId, SPANS.taskAttempt) ? TraceFlags.SAMPLED : TraceFlags.NONE;
    return formatTraceparent({
      traceId: parent.traceId,
      spanId: spanIds.attempt(taskId, attempt),
      traceFlags: flags,
    });
  },

  /** Runs `fn` in the attempt span's context (its log lines carry the ids). */
  inAttempt<T>(taskId: string, traceParent: string | null, attempt: number, fn: () => T): T {
    const a = active;
    if (!a) return fn();
    const parent = attemptParentOf(taskId, traceParent);
    return within(a, parent.traceId, () => spanIds.attempt(taskId, attempt), fn);
  },

  inStep<T>(runId: string, stepId: string, generation: number, fn: () => T): T {
    return within(active, traceIdOf(runId), () => spanIds.step(runId, stepId, generation), fn);
  },

  inRun<T>(runId: string, fn: () => T): T {
    return within(active, traceIdOf(runId), () => spanIds.run(runId), fn);
  },

  attemptEnded(i: AttemptSpanInfo): void {
    const a = active;
    if (!a) return;
    const parent = attemptParentOf(i.taskId, i.traceParent);
    const agentSpan = parseTraceparent(i.agentTraceparent);
    const failed = i.outcome !== "completed" && i.outcome !== "released";
    emit(a, {
      name: SPANS.taskAttempt,
      kind: SpanKind.PRODUCER,
      traceId: parent.traceId,
      spanId: spanIds.attempt(i.taskId, i.attempt),
      parentSpanId: parent.spanId,
      start: i.claimedAt,
      end: i.finishedAt,
      attributes: {
        [A.taskId]: i.taskId,
        [A.taskType]: i.type,
        [A.taskAttempt]: i.attempt,
        [A.agentId]: i.agentId,
        [A.attemptOutcome]: i.outcome,
        [A.attemptDecision]: i.decision,
      },
      ...(agentSpan ? { links: [{ context: agentSpan }] } : {}),
      ...(failed
        ? { error: { type: i.category ?? i.outcome, message: i.message ?? `attempt ${i.outcome}` } }
        : {}),
    });
  },

  /** The root span of a task outside any run; a pipeline step's task has its step span instead. */
  taskEnded(i: TaskSpanInfo): void {
    const a = active;
    if (!a || i.traceParent) return;
    emit(a, {
      name: SPANS.task,
      kind: SpanKind.INTERNAL,
      traceId: traceIdOf(i.taskId),
      spanId: spanIds.task(i.taskId),
      start: i.createdAt,
      end: i.finishedAt,
      attributes: {
        [A.taskId]: i.taskId,
        [A.taskType]: i.type,
        [A.taskState]: i.state,
        [A.taskAttempts]: i.attempts,
      },
      ...(i.state === "completed"
        ? {}
        : { error: { type: i.state, message: i.message ?? `task ${i.state}` } }),
    });
  },

  stepEnded(i: StepSpanInfo): void {
    const a = active;
    if (!a) return;
    const attributes: Attributes = {
      [A.runId]: i.runId,
      [A.template]: i.template,
      [A.stepId]: i.stepId,
      [A.stepGeneration]: i.generation,
      [A.stepState]: i.state,
      [A.stepExecutor]: i.executor,
    };
    if (i.taskId) attributes[A.taskId] = i.taskId;
    if (i.agentId) attributes[A.agentId] = i.agentId;
    if (i.skipReason) attributes[A.skipReason] = i.skipReason;
    emit(a, {
      name: SPANS.pipelineStep,
      kind: SpanKind.INTERNAL,
      traceId: traceIdOf(i.runId),
      spanId: spanIds.step(i.runId, i.stepId, i.generation),
      parentSpanId: spanIds.run(i.runId),
      start: i.startedAt ?? i.finishedAt,
      end: i.finishedAt,
      attributes,
      ...(i.state === "failed"
        ? { error: { type: "step_failed", message: messageOf(i.error) ?? "step failed" } }
        : {}),
    });
  },

  runEnded(i: RunSpanInfo): void {
    const a = active;
    if (!a) return;
    const attributes: Attributes = {
      [A.runId]: i.runId,
      [A.template]: i.template,
      [A.templateVersion]: i.version,
      [A.runState]: i.state,
      [A.priority]: i.priority,
    };
    if (i.failedSteps && i.failedSteps.length > 0) attributes[A.failedSteps] = i.failedSteps;
    emit(a, {
      name: SPANS.pipelineRun,
      kind: SpanKind.INTERNAL,
      traceId: traceIdOf(i.runId),
      spanId: spanIds.run(i.runId),
      start: i.createdAt,
      end: i.finishedAt,
      attributes,
      ...(i.state === "failed"
        ? { error: { type: "run_failed", message: `step(s) failed: ${(i.failedSteps ?? []).join(", ")}` } }
        : {}),
    });
  },
};
