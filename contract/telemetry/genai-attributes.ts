// Names on the trace spans of LLM calls: the OpenTelemetry GenAI semantic conventions where they
// define one (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/), `overseer.*` for
// what they do not. Kept in one place so docs, dashboards and tests check against a single list.

import type { LlmProviderName } from "../schemas/llm.ts";

/** Instrumentation scope of the SDK's tracer. */
export const TRACER_NAME = "overseer-sdk";

/** `gen_ai.operation.name` of every call the client makes. */
export const OPERATION_CHAT = "chat";

/** The span name the conventions prescribe: `{gen_ai.operation.name} {gen_ai.request.model}`. */
export function chatSpanName(model: string): string {
  return `${OPERATION_CHAT} ${model}`;
}

export const ATTR = {
  // OpenTelemetry GenAI conventions.
  operationName: "gen_ai.operation.name",
  providerName: "gen_ai.provider.name",
  requestModel: "gen_ai.request.model",
  requestMaxTokens: "gen_ai.request.max_tokens",
  requestTemperature: "gen_ai.request.temperature",
  responseModel: "gen_ai.response.model",
  /** Seconds, per the conventions; `overseer.llm.ttft_ms` has the same in milliseconds. */
  responseTimeToFirstChunk: "gen_ai.response.time_to_first_chunk",
  usageInputTokens: "gen_ai.usage.input_tokens",
  usageOutputTokens: "gen_ai.usage.output_tokens",
  conversationId: "gen_ai.conversation.id",
  agentId: "gen_ai.agent.id",
  // General conventions.
  serverAddress: "server.address",
  serverPort: "server.port",
  errorType: "error.type",
  httpStatusCode: "http.response.status_code",
  // Overseer's own.
  /** The provider that produced the answer: differs from the configured one after a fallback. */
  source: "overseer.llm.source",
  tokensCounted: "overseer.llm.tokens_counted",
  ttftMs: "overseer.llm.ttft_ms",
  attempts: "overseer.llm.attempts",
  attempt: "overseer.llm.attempt",
  retryDelayMs: "overseer.llm.retry_delay_ms",
  taskId: "overseer.task.id",
  runId: "overseer.run.id",
  stepId: "overseer.step.id",
} as const;

/** Span events: one per retried attempt, one when the offline provider answers instead. */
export const EVENT = {
  retry: "overseer.llm.retry",
  fallback: "overseer.llm.fallback",
} as const;

/**
 * `gen_ai.provider.name` per configured provider. "openai" is a well-known value and names the API
 * flavour (any OpenAI-compatible server); "ollama" has no well-known value, so it is a custom one;
 * the offline provider is ours and namespaced so it cannot collide with a real provider's name.
 */
export const GENAI_PROVIDER: Record<LlmProviderName, string> = {
  openai: "openai",
  ollama: "ollama",
  offline: "overseer.offline",
};

/** `error.type` when the caller's signal aborted the call, and for failures that are not an LlmError. */
export const ERROR_ABORTED = "aborted";
export const ERROR_OTHER = "_OTHER";
