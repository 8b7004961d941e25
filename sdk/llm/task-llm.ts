// `ctx.llm` in a task handler: the agent's LlmClient bound to the task's AbortSignal, recording every
// call (ok or failed) with the task, and the pipeline run and step when the task belongs to one. The
// same ids (and the agent's) go on the call's trace span.

import type { Clock } from "../runtime.ts";
import type { CallRecorder, LlmCallEntry } from "./call-recorder.ts";
import type { LlmClient } from "./llm-client.ts";
import { isLlmError, type LlmCallContext, type LlmRequest, type LlmResult } from "./llm-types.ts";

/** The LLM client as a task handler sees it. */
export interface TaskLlm {
  /**
   * LlmClient.complete under the task's signal (and the request's, if any); the call is recorded.
   * `conversationId` attaches the call to a conversation of the task's run (POST
   * /api/pipelines/runs/:id/conversations).
   */
  complete(request: LlmRequest, call?: { conversationId?: string }): Promise<LlmResult>;
}

export interface TaskLlmOptions {
  client: LlmClient;
  recorder: CallRecorder;
  clock: Clock;
  taskId: string;
  /** The agent's current id at the daemon, for the span's `gen_ai.agent.id`. */
  agentId?: string;
  payload: unknown;
  signal: AbortSignal;
  /** Include the messages (prompt) and the answer text (response) in records. */
  recordContent: boolean;
}

// Mirrors the daemon's record schema: a value it would reject must not sink a whole batch.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STEP_ID = /^[a-z][a-z0-9_-]{0,63}$/;
const MAX_MILLIS = 86_400_000;
const MAX_RESPONSE_CHARS = 200_000;
/** Prompt bytes above which a record keeps its metadata only (the daemon's body limit is 1 MiB). */
const MAX_CONTENT_BYTES = 256 * 1024;

/** Builds `ctx.llm` for one task run. */
export function taskLlm(opts: TaskLlmOptions): TaskLlm {
  const context = callContext(opts.taskId, opts.payload);
  // The task id as the daemon gave it, even one the record must leave out: a span has no schema.
  const traced: LlmCallContext = { ...context, taskId: opts.taskId };
  if (opts.agentId !== undefined) traced.agentId = opts.agentId;
  return {
    async complete(request, call) {
      const conversation =
        call?.conversationId !== undefined && UUID.test(call.conversationId) && context.runId !== undefined
          ? { conversationId: call.conversationId }
          : {};
      const signal = request.signal ? AbortSignal.any([opts.signal, request.signal]) : opts.signal;
      const startedAt = opts.clock.now();
      const prompt = opts.recordContent ? storableContent(request.messages) : undefined;
      const base = {
        provider: opts.client.provider,
        ...context,
        ...conversation,
        ...(prompt !== undefined ? { prompt } : {}),
      };
      let result: LlmResult;
      try {
        result = await opts.client.complete({ ...request, signal }, { ...traced, ...conversation });
      } catch (err) {
        // A TypeError before any request (bad messages) is a caller bug, not a call.
        if (isLlmError(err) || signal.aborted) {
          const entry: LlmCallEntry = {
            ...base,
            model: (request.model || opts.client.model).slice(0, 256),
            source: opts.client.provider,
            usage: { inputTokens: 0, outputTokens: 0, counted: true },
            latencyMs: millis(opts.clock.now() - startedAt),
            status: "error",
            errorType: isLlmError(err) ? err.type : "other",
          };
          opts.recorder.record(entry);
        }
        throw err;
      }
      opts.recorder.record({
        ...base,
        model: (result.model || request.model || opts.client.model).slice(0, 256),
        source: result.source,
        usage: result.usage,
        latencyMs: millis(result.latencyMs),
        timeToFirstTokenMs: result.timeToFirstTokenMs === null ? null : millis(result.timeToFirstTokenMs),
        status: "ok",
        ...(opts.recordContent && prompt !== undefined
          ? { response: postgresText(result.text).slice(0, MAX_RESPONSE_CHARS) }
          : {}),
      });
      return result;
    },
  };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text Postgres stores: no NUL characters, no lone surrogates (either would reject the whole batch). */
function postgresText(text: string): string {
  return text.replaceAll(String.fromCharCode(0), "").replace(LONE_SURROGATE, "\uFFFD");
}

/**
 * The prompt as it can be recorded, or undefined when it is too large to send: then the call is still
 * recorded (tokens, cost, latency), without its content, rather than lost with an oversized batch.
 */
function storableContent(messages: LlmRequest["messages"]): LlmRequest["messages"] | undefined {
  const clean = messages.map((m) => ({ ...m, content: postgresText(m.content) }));
  return Buffer.byteLength(JSON.stringify(clean)) <= MAX_CONTENT_BYTES ? clean : undefined;
}

/** taskId, plus runId and stepId from a pipeline task's `payload.pipeline`. */
function callContext(taskId: string, payload: unknown): { taskId?: string; runId?: string; stepId?: string } {
  const context: { taskId?: string; runId?: string; stepId?: string } = {};
  if (!UUID.test(taskId)) return context;
  context.taskId = taskId;
  const pipeline = (payload as { pipeline?: { runId?: unknown; stepId?: unknown } } | null)?.pipeline;
  if (typeof pipeline?.runId === "string" && UUID.test(pipeline.runId)) {
    context.runId = pipeline.runId;
    if (typeof pipeline.stepId === "string" && STEP_ID.test(pipeline.stepId))
      context.stepId = pipeline.stepId;
  }
  return context;
}

function millis(ms: number): number {
  return Math.min(MAX_MILLIS, Math.max(0, Math.round(ms)));
}
