// Ollama's native chat API: POST {baseUrl}/api/chat.
//
// Streaming answers are NDJSON: one JSON object per line with a `message.content` piece; the last
// line has `done: true` and the counts (`prompt_eval_count`, `eval_count`). Ollama omits
// `prompt_eval_count` when the prompt was served from its cache; the client then estimates it.

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

interface ChatLine {
  model?: unknown;
  message?: { content?: unknown };
  done?: unknown;
  prompt_eval_count?: unknown;
  eval_count?: unknown;
  error?: unknown;
}

export class OllamaProvider implements LlmProvider {
  readonly name = "ollama";
  private readonly url: string;

  constructor(baseUrl: string) {
    this.url = `${trimBase(baseUrl)}/api/chat`;
  }

  async complete(call: ProviderCall): Promise<ProviderAnswer> {
    const { request } = call;
    const stream = request.stream === true;
    // Ollama streams unless told otherwise, so `stream` is always sent.
    const body: Record<string, unknown> = { model: call.model, messages: request.messages, stream };
    const options: Record<string, unknown> = {};
    if (request.maxTokens !== undefined) options["num_predict"] = request.maxTokens;
    if (request.temperature !== undefined) options["temperature"] = request.temperature;
    if (Object.keys(options).length > 0) body["options"] = options;
    const res = await postJson(call, this.url, body);
    return stream ? this.readStream(call, res) : this.readWhole(call, res);
  }

  private async readWhole(call: ProviderCall, res: Response): Promise<ProviderAnswer> {
    const body = (await readJson(res)) as ChatLine | null;
    const content = body?.message?.content;
    if (typeof content !== "string") throw new LlmError("bad_response", "answer has no message.content");
    return {
      text: content,
      model: typeof body?.model === "string" ? body.model : call.model,
      usage: usageOf(call, content, count(body?.prompt_eval_count), count(body?.eval_count)),
      timeToFirstTokenMs: null,
    };
  }

  private async readStream(call: ProviderCall, res: Response): Promise<ProviderAnswer> {
    const parts: string[] = [];
    let model = call.model;
    let last: ChatLine | undefined;
    let timeToFirstTokenMs: number | null = null;
    for await (const raw of readLines(res)) {
      if (raw.trim() === "") continue;
      const line = parseJson(raw, "stream line") as ChatLine | null;
      if (line === null || typeof line !== "object") continue;
      if (line.error !== undefined)
        throw new LlmError("server_error", `error in stream: ${String(line.error)}`);
      if (typeof line.model === "string") model = line.model;
      const piece = line.message?.content;
      if (typeof piece === "string" && piece !== "") {
        timeToFirstTokenMs ??= call.now() - call.startedAt;
        parts.push(piece);
      }
      if (line.done === true) {
        last = line;
        break;
      }
    }
    if (last === undefined) throw new LlmError("bad_response", "stream ended before a done: true line");
    const text = parts.join("");
    return {
      text,
      model,
      usage: usageOf(call, text, count(last.prompt_eval_count), count(last.eval_count)),
      timeToFirstTokenMs,
    };
  }
}
