import { type Static, Type } from "typebox";
import { IdParams, Uuid } from "./common.ts";
import { ExportRecord } from "./export.ts";
import { NextBefore, pageQuery, Total } from "./paging.ts";

/** Which backend answered (or is configured to answer) a call. */
export type LlmProviderName = "openai" | "ollama" | "offline";
export const LLM_PROVIDERS: readonly LlmProviderName[] = ["openai", "ollama", "offline"];

/** How an LLM call failed: stable, for metrics and branching. */
export const LLM_ERROR_TYPES = [
  "timeout",
  "rate_limited",
  "server_error",
  "bad_request",
  "unreachable",
  "bad_response",
] as const;
export type LlmErrorType = (typeof LLM_ERROR_TYPES)[number];

/** Error kinds a call record may carry: an LlmErrorType, or `other` (a bounded metric label). */
export const LLM_CALL_ERROR_TYPES = [...LLM_ERROR_TYPES, "other"] as const;
export type LlmCallErrorType = (typeof LLM_CALL_ERROR_TYPES)[number];

const Slug = Type.String({ pattern: "^[a-z][a-z0-9._-]{0,31}$" });
const Tokens = Type.Integer({ minimum: 0, maximum: 100_000_000 });
const Millis = Type.Integer({ minimum: 0, maximum: 86_400_000 });

/** One LLM call as the SDK client reports it (`LlmResult` or `LlmError`, plus where it was made). */
export const LlmCallRecord = Type.Object(
  {
    /** A uuid the client generates per call: the row id, so a retried batch is idempotent. */
    clientCallId: Uuid,
    /** The configured provider, e.g. openai, ollama. */
    provider: Slug,
    model: Type.String({ minLength: 1, maxLength: 256 }),
    /** The provider that answered (offline after a fallback). */
    source: Slug,
    usage: Type.Object(
      {
        inputTokens: Tokens,
        outputTokens: Tokens,
        counted: Type.Boolean({ description: "true when the tokens were estimated, not reported" }),
      },
      { additionalProperties: false },
    ),
    latencyMs: Millis,
    timeToFirstTokenMs: Type.Optional(Type.Union([Millis, Type.Null()])),
    status: Type.Union([Type.Literal("ok"), Type.Literal("error")]),
    errorType: Type.Optional(Type.Enum(LLM_CALL_ERROR_TYPES)),
    taskId: Type.Optional(Uuid),
    runId: Type.Optional(Uuid),
    stepId: Type.Optional(Type.String({ pattern: "^[a-z][a-z0-9_-]{0,63}$" })),
    conversationId: Type.Optional(Uuid),
    prompt: Type.Optional(Type.Unknown({ description: "the request (e.g. its messages); stored as JSON" })),
    response: Type.Optional(Type.String({ maxLength: 1_000_000 })),
  },
  { additionalProperties: false },
);
/** One reported call: the record the SDK's recorder sends (one type for both sides of the wire). */
export type LlmCallRecord = Static<typeof LlmCallRecord>;

export const LlmCallsBody = Type.Object(
  {
    /** Required for operators; an agent may omit it (or must send its own id). */
    agentId: Type.Optional(Uuid),
    calls: Type.Array(LlmCallRecord, { minItems: 1, maxItems: 1000 }),
  },
  { additionalProperties: false },
);

export const LlmCallsReply = Type.Object({
  recorded: Type.Integer({ description: "new rows" }),
  duplicates: Type.Integer({ description: "calls whose clientCallId was already recorded" }),
});
export type LlmCallsReply = Static<typeof LlmCallsReply>;

/** `GET /api/pipelines/runs/:id/llm-calls`: the run's calls, newest first, paged (docs/paging.md). */
export const RunLlmCallsParams = IdParams;
export const RunLlmCallsQuery = Type.Object(pageQuery(), { additionalProperties: false });

/**
 * One recorded call's metadata, as a run's call list answers it: the export's record without the
 * prompt and response (those are in the operator's export only), the run (the list is the run's)
 * and the feedback score. One declaration of a call's fields for both.
 */
export const LlmCallView = Type.Omit(ExportRecord, ["runId", "feedbackScore", "prompt", "response"]);
export type LlmCallView = Static<typeof LlmCallView>;

export const RunLlmCallsReply = Type.Object({
  runId: Uuid,
  calls: Type.Array(LlmCallView),
  total: Total,
  nextBefore: NextBefore,
});
export type RunLlmCallsReply = Static<typeof RunLlmCallsReply>;
