// Public face of the SDK's LLM client; see docs/llm-client.md.

export {
  ATTR as LLM_SPAN_ATTRIBUTES,
  chatSpanName,
  EVENT as LLM_SPAN_EVENTS,
  GENAI_PROVIDER,
  TRACER_NAME,
} from "../../contract/telemetry/genai-attributes.ts";
export {
  CallRecorder,
  type CallRecorderOptions,
  type CallRecorderStats,
  DEFAULT_LLM_FLUSH_MS,
  DEFAULT_LLM_RECORDER_BUFFER,
  type FlushOptions,
  type LlmCallEntry,
  type LlmCallRecord,
} from "./call-recorder.ts";
export {
  DEFAULT_LLM_RETRIES,
  DEFAULT_LLM_TIMEOUT_MS,
  LlmClient,
  type LlmClientOptions,
  type LlmEnv,
  llmClientFromEnv,
  llmOptionsFromEnv,
} from "./llm-client.ts";
export {
  isLlmError,
  LLM_PROVIDERS,
  type LlmCallContext,
  LlmError,
  type LlmErrorType,
  type LlmMessage,
  type LlmProviderName,
  type LlmRequest,
  type LlmResult,
  type LlmRole,
  type LlmUsage,
} from "./llm-types.ts";
export { OFFLINE_MODEL, offlineReply } from "./offline-provider.ts";
export type { TaskLlm } from "./task-llm.ts";
export { CHARS_PER_TOKEN, countMessageTokens, countTokens, TOKENS_PER_MESSAGE } from "./token-counter.ts";
