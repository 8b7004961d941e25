// The trace span of one LlmClient.complete() call, named and attributed per the OpenTelemetry GenAI
// conventions (names in genai-attributes.ts). One span covers the whole call as the caller saw it:
// its attributes describe the final answer (or the final failure), and each retry and the offline
// fallback are events on it, because the conventions model one span per model call, not per request.
//
// Only @opentelemetry/api is used: with no SDK registered every method below is a no-op.

import {
  type Attributes,
  type Context,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import {
  ATTR,
  chatSpanName,
  ERROR_ABORTED,
  ERROR_OTHER,
  EVENT,
  GENAI_PROVIDER,
  OPERATION_CHAT,
} from "../../contract/telemetry/genai-attributes.ts";
import { errorMessage } from "../runtime.ts";
import {
  isLlmError,
  type LlmCallContext,
  type LlmError,
  type LlmProviderName,
  type LlmRequest,
  type LlmResult,
} from "./llm-types.ts";

export interface LlmSpanStart {
  provider: LlmProviderName;
  /** The requested model (the request's, else the client's). */
  model: string;
  request: LlmRequest;
  /** Where HTTP providers send requests; undefined for the offline provider. */
  server: { address: string; port: number } | undefined;
  call: LlmCallContext;
}

export class LlmSpan {
  /** The caller's context with this span active: provider requests run in it, so HTTP spans nest. */
  readonly context: Context;
  private readonly span: Span;

  constructor(tracer: Tracer, start: LlmSpanStart) {
    const { request, server, call } = start;
    // Set at start, not at the end, so samplers can decide on them.
    const attributes: Attributes = {
      [ATTR.operationName]: OPERATION_CHAT,
      [ATTR.providerName]: GENAI_PROVIDER[start.provider],
      [ATTR.requestModel]: start.model,
    };
    if (request.maxTokens !== undefined) attributes[ATTR.requestMaxTokens] = request.maxTokens;
    if (request.temperature !== undefined) attributes[ATTR.requestTemperature] = request.temperature;
    if (server !== undefined) {
      attributes[ATTR.serverAddress] = server.address;
      attributes[ATTR.serverPort] = server.port;
    }
    if (call.conversationId !== undefined) attributes[ATTR.conversationId] = call.conversationId;
    if (call.agentId !== undefined) attributes[ATTR.agentId] = call.agentId;
    if (call.taskId !== undefined) attributes[ATTR.taskId] = call.taskId;
    if (call.runId !== undefined) attributes[ATTR.runId] = call.runId;
    if (call.stepId !== undefined) attributes[ATTR.stepId] = call.stepId;
    const parent = context.active();
    this.span = tracer.startSpan(chatSpanName(start.model), { kind: SpanKind.CLIENT, attributes }, parent);
    this.context = trace.setSpan(parent, this.span);
  }

  /** Attempt `attempt` failed with `err` and the client retries after `delayMs`. */
  retry(attempt: number, err: LlmError, delayMs: number): void {
    this.span.addEvent(EVENT.retry, {
      [ATTR.attempt]: attempt,
      [ATTR.errorType]: err.type,
      [ATTR.retryDelayMs]: delayMs,
      ...(err.status !== undefined ? { [ATTR.httpStatusCode]: err.status } : {}),
    });
  }

  /** The configured provider gave up with `err` after `attempts` requests; the offline provider answers. */
  fallback(err: LlmError, attempts: number): void {
    this.span.addEvent(EVENT.fallback, {
      [ATTR.errorType]: err.type,
      [ATTR.attempts]: attempts,
      ...(err.status !== undefined ? { [ATTR.httpStatusCode]: err.status } : {}),
    });
  }

  /** Ends the span with the answer's model, usage and timing; status stays unset, as the conventions ask. */
  succeed(result: LlmResult): void {
    const attributes: Attributes = {
      [ATTR.responseModel]: result.model,
      [ATTR.usageInputTokens]: result.usage.inputTokens,
      [ATTR.usageOutputTokens]: result.usage.outputTokens,
      [ATTR.tokensCounted]: result.usage.counted,
      [ATTR.source]: result.source,
      [ATTR.attempts]: result.attempts,
    };
    if (result.timeToFirstTokenMs !== null) {
      attributes[ATTR.ttftMs] = result.timeToFirstTokenMs;
      attributes[ATTR.responseTimeToFirstChunk] = result.timeToFirstTokenMs / 1000;
    }
    this.span.setAttributes(attributes);
    this.span.end();
  }

  /** Ends the span as failed: `error.type` is the LlmError's type, "aborted" for the caller's abort. */
  fail(err: unknown, aborted: boolean): void {
    const type = aborted ? ERROR_ABORTED : isLlmError(err) ? err.type : ERROR_OTHER;
    this.span.setAttribute(ATTR.errorType, type);
    if (isLlmError(err)) {
      if (err.status !== undefined) this.span.setAttribute(ATTR.httpStatusCode, err.status);
      if (err.attempts !== undefined) this.span.setAttribute(ATTR.attempts, err.attempts);
    }
    this.span.recordException(err instanceof Error ? err : String(err));
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(err) });
    this.span.end();
  }
}
