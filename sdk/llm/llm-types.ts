// Shapes shared by the LLM client and its providers.

import type { LlmErrorType, LlmProviderName } from "../../contract/schemas/llm.ts";

export { LLM_PROVIDERS, type LlmErrorType, type LlmProviderName } from "../../contract/schemas/llm.ts";

export type LlmRole = "system" | "user" | "assistant";

export interface LlmMessage {
  role: LlmRole;
  content: string;
}

export interface LlmRequest {
  messages: LlmMessage[];
  /** Overrides the client's model for this call. */
  model?: string;
  maxTokens?: number;
  temperature?: number;
  /** Stream the answer from the provider; the result is the same, plus a time to first token. */
  stream?: boolean;
  /** Aborting rejects with the signal's reason at once, without retrying or falling back. */
  signal?: AbortSignal;
}

/**
 * Who a call is made for. Only the call's trace span carries it (see docs/llm-client.md, "Traces");
 * `ctx.llm` fills in the agent, task, run and step.
 */
export interface LlmCallContext {
  /** The agent's id at the daemon: `gen_ai.agent.id`. */
  agentId?: string;
  /** `gen_ai.conversation.id`. */
  conversationId?: string;
  taskId?: string;
  runId?: string;
  stepId?: string;
}

export interface LlmUsage {
  inputTokens: number;
  outputTokens: number;
  /** True when the provider reported no (or partial) usage and the numbers were estimated by `countTokens`. */
  counted: boolean;
}

export interface LlmResult {
  text: string;
  /** The provider that actually produced `text`: "offline" after a fallback. */
  source: LlmProviderName;
  /** The model that answered, as the provider reported it (the requested one when it did not say). */
  model: string;
  usage: LlmUsage;
  /** Wall time of the whole call as the caller saw it: failed attempts and backoff included. */
  latencyMs: number;
  /** From the start of the call to the first non-empty chunk; null when not streaming. */
  timeToFirstTokenMs: number | null;
  /** Requests sent to the configured provider (1 when the first one succeeded); the offline fallback is not counted. */
  attempts: number;
  /** True when the configured provider failed and the offline provider answered instead. */
  fellBack: boolean;
}

/** Stable failure kinds; `status` carries the HTTP status when there was one. */

const RETRYABLE: ReadonlySet<LlmErrorType> = new Set([
  "timeout",
  "rate_limited",
  "server_error",
  "unreachable",
]);

/** A failed LLM call. `type` is stable and meant for metrics and branching; the message is for humans. */
export class LlmError extends Error {
  override readonly name = "LlmError";
  readonly type: LlmErrorType;
  readonly status: number | undefined;
  /** From a Retry-After (or retry-after-ms) header, when the provider sent one. */
  readonly retryAfterMs: number | undefined;
  /** Requests sent before giving up; set by the client on the error it throws. */
  attempts: number | undefined;

  constructor(
    type: LlmErrorType,
    message: string,
    opts?: { status?: number; retryAfterMs?: number; cause?: unknown; attempts?: number },
  ) {
    super(message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.type = type;
    this.status = opts?.status;
    this.retryAfterMs = opts?.retryAfterMs;
    this.attempts = opts?.attempts;
  }

  /** True for failures worth another attempt: timeouts, 429, 5xx, connection errors. */
  get retryable(): boolean {
    return RETRYABLE.has(this.type);
  }
}

/** True when `err` is an LlmError, with one of `types` if any are given. */
export function isLlmError(err: unknown, ...types: LlmErrorType[]): err is LlmError {
  return err instanceof LlmError && (types.length === 0 || types.includes(err.type));
}
