// Any OpenAI-compatible chat endpoint: OpenAI, vLLM, llama.cpp server, LiteLLM, LM Studio, ...
//
// POST {baseUrl}/v1/chat/completions. Streaming uses server-sent events: one JSON chunk per `data:`
// line, `choices[0].delta.content` pieces, usage in a last chunk (asked for with
// `stream_options.include_usage`), then `data: [DONE]`.

import { LlmError } from "./llm-types.ts";
import {
  count,
  type LlmProvider,
  type ProviderAnswer,
  type ProviderCall,
  parseJson,
  postJson,
  readJson,
  readLines,
  trimBase,
  usageOf,
} from "./provider.ts";

interface ChatUsage {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
}

interface ChatCompletion {
  model?: unknown;
  choices?: Array<{ message?: { content?: unknown } }>;
  usage?: ChatUsage | null;
}

interface ChatChunk {
  model?: unknown;
  choices?: Array<{ delta?: { content?: unknown }; finish_reason?: unknown }>;
  usage?: ChatUsage | null;
  error?: { message?: unknown } | string;
}

export class OpenAiProvider implements LlmProvider {
  readonly name = "openai";
  private readonly url: string;
  private readonly apiKey: string | undefined;

  /** `baseUrl` without the `/v1` suffix (a trailing `/v1` is tolerated and dropped). */
  constructor(baseUrl: string, apiKey?: string) {
    this.url = `${trimBase(baseUrl).replace(/\/v1$/, "")}/v1/chat/completions`;
    this.apiKey = apiKey === "" ? undefined : apiKey;
  }

  async complete(call: ProviderCall): Promise<ProviderAnswer> {
    const { request } = call;
    const stream = request.stream === true;
    const body: Record<string, unknown> = { model: call.model, messages: request.messages, stream };
    if (request.maxTokens !== undefined) body["max_tokens"] = request.maxTokens;
    if (request.temperature !== undefined) body["temperature"] = request.temperature;
    if (stream) body["stream_options"] = { include_usage: true };
    const headers: Record<string, string> = {
      accept: stream ? "text/event-stream" : "application/json",
    };
    if (this.apiKey !== undefined) headers["authorization"] = `Bearer ${this.apiKey}`;
    const res = await postJson(call, this.url, body, headers);
    return stream ? this.readStream(call, res) : this.readWhole(call, res);
  }

  private async readWhole(call: ProviderCall, res: Response): Promise<ProviderAnswer> {
    const body = (await readJson(res)) as ChatCompletion | null;
    const choice = body?.choices?.[0];
    const content = choice?.message?.content;
    if (choice === undefined || (typeof content !== "string" && content !== null)) {
      throw new LlmError("bad_response", "answer has no choices[0].message.content");
    }
    const text = content ?? "";
    return {
      text,
      model: typeof body?.model === "string" ? body.model : call.model,
      usage: usageOf(call, text, count(body?.usage?.prompt_tokens), count(body?.usage?.completion_tokens)),
      timeToFirstTokenMs: null,
    };
  }

  private async readStream(call: ProviderCall, res: Response): Promise<ProviderAnswer> {
    const parts: string[] = [];
    let model = call.model;
    let usage: ChatUsage | undefined;
    let timeToFirstTokenMs: number | null = null;
    let finished = false;
    for await (const line of readLines(res)) {
      // Blank lines separate events; `:` lines are comments (keep-alives); event:/id:/retry: are unused.
      if (!line.startsWith("data:")) continue;
      const data = line.slice(5).trim();
      if (data === "[DONE]") {
        finished = true;
        break;
      }
      const chunk = parseJson(data, "stream chunk") as ChatChunk | null;
      if (chunk === null || typeof chunk !== "object") continue;
      if (chunk.error !== undefined) {
        const message = typeof chunk.error === "string" ? chunk.error : chunk.error.message;
        throw new LlmError("server_error", `error in stream: ${String(message ?? "unknown")}`);
      }
      if (typeof chunk.model === "string") model = chunk.model;
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices?.[0];
      const piece = choice?.delta?.content;
      if (typeof piece === "string" && piece !== "") {
        timeToFirstTokenMs ??= call.now() - call.startedAt;
        parts.push(piece);
      }
      if (typeof choice?.finish_reason === "string") finished = true;
    }
    // A stream cut short (proxy timeout, crashed server) must not pass for a complete answer.
    if (!finished) throw new LlmError("bad_response", "stream ended before [DONE] or a finish_reason");
    const text = parts.join("");
    return {
      text,
      model,
      usage: usageOf(call, text, count(usage?.prompt_tokens), count(usage?.completion_tokens)),
      timeToFirstTokenMs,
    };
  }
}
