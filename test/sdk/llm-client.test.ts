import { afterEach, describe, expect, it } from "vitest";
import {
  countMessageTokens,
  countTokens,
  LlmClient,
  type LlmClientOptions,
  LlmError,
  type LlmMessage,
  llmClientFromEnv,
  llmOptionsFromEnv,
  offlineReply,
} from "../../sdk/llm/index.ts";
import {
  closeFakeServers,
  json,
  lines,
  ollamaNdjson,
  ollamaWhole,
  openaiCompletion,
  openaiSse,
  serve,
} from "./fake-llm-server.ts";
import { deadUrl, pause } from "./helpers.ts";

// Fake OpenAI-compatible and Ollama servers on 127.0.0.1, reached through the real fetch path.
afterEach(closeFakeServers);

const messages: LlmMessage[] = [
  { role: "system", content: "You are terse." },
  { role: "user", content: "Say hello." },
];

const fast = { retries: 2, backoffBaseMs: 1, backoffMaxMs: 20, timeoutMs: 5_000 };

function openai(url: string, opts: Partial<LlmClientOptions> = {}): LlmClient {
  return new LlmClient({
    provider: "openai",
    baseUrl: url,
    apiKey: "sk-test",
    model: "gpt-test",
    ...fast,
    ...opts,
  });
}

function ollama(url: string, opts: Partial<LlmClientOptions> = {}): LlmClient {
  return new LlmClient({ provider: "ollama", baseUrl: url, model: "llama-test", ...fast, ...opts });
}

describe("LlmClient with an OpenAI-compatible server", () => {
  it("reads a whole answer with the provider's usage", async () => {
    const server = await serve(
      json(200, openaiCompletion("Hello.", { prompt_tokens: 21, completion_tokens: 2 })),
    );
    const res = await openai(server.url).complete({ messages, maxTokens: 50, temperature: 0.2 });
    expect(res).toMatchObject({
      text: "Hello.",
      source: "openai",
      model: "gpt-test-0613",
      usage: { inputTokens: 21, outputTokens: 2, counted: false },
      timeToFirstTokenMs: null,
      attempts: 1,
      fellBack: false,
    });
    expect(res.latencyMs).toBeGreaterThanOrEqual(0);
    expect(server.hits[0]).toMatchObject({
      path: "/v1/chat/completions",
      headers: { authorization: "Bearer sk-test" },
      body: { model: "gpt-test", messages, stream: false, max_tokens: 50, temperature: 0.2 },
    });
  });

  it("streams, concatenating deltas and taking usage from the last chunk", async () => {
    const server = await serve(
      lines("text/event-stream", openaiSse(["Hel", "lo", "."], { prompt_tokens: 21, completion_tokens: 3 })),
    );
    const res = await openai(`${server.url}/`).complete({ messages, stream: true, model: "gpt-other" });
    expect(res).toMatchObject({
      text: "Hello.",
      source: "openai",
      usage: { inputTokens: 21, outputTokens: 3, counted: false },
      attempts: 1,
    });
    expect(res.timeToFirstTokenMs).not.toBeNull();
    expect(server.hits[0]!.body).toMatchObject({
      model: "gpt-other",
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it("counts tokens when the server reports no usage", async () => {
    const server = await serve(
      json(200, openaiCompletion("Hello there.")),
      lines("text/event-stream", openaiSse(["Hello", " there."])),
    );
    const client = openai(server.url);
    const expected = { inputTokens: countMessageTokens(messages), outputTokens: countTokens("Hello there.") };
    const whole = await client.complete({ messages });
    expect(whole.usage).toEqual({ ...expected, counted: true });
    const streamed = await client.complete({ messages, stream: true });
    expect(streamed.text).toBe("Hello there.");
    expect(streamed.usage).toEqual({ ...expected, counted: true });
  });

  it("measures time to first token from the first non-empty delta", async () => {
    const sse = openaiSse(["a", "b", "c"], { prompt_tokens: 1, completion_tokens: 3 });
    // Line 0 is the empty role chunk: sent at once, it must not count as the first token.
    const server = await serve(async (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(sse[0]);
      await pause(80);
      for (const line of sse.slice(1)) {
        res.write(line);
        await pause(20);
      }
      res.end();
    });
    const res = await openai(server.url).complete({ messages, stream: true });
    expect(res.text).toBe("abc");
    expect(res.timeToFirstTokenMs).toBeGreaterThanOrEqual(75);
    expect(res.timeToFirstTokenMs).toBeLessThanOrEqual(res.latencyMs);
    expect(res.latencyMs - res.timeToFirstTokenMs!).toBeGreaterThanOrEqual(40);
  });

  it("retries a 429 after its Retry-After, then succeeds", async () => {
    const server = await serve(
      json(429, { error: { message: "slow down" } }, { "retry-after": "0.1" }),
      json(200, openaiCompletion("ok", { prompt_tokens: 1, completion_tokens: 1 })),
    );
    const res = await openai(server.url, { backoffMaxMs: 1_000 }).complete({ messages });
    expect(res).toMatchObject({ text: "ok", attempts: 2 });
    expect(res.latencyMs).toBeGreaterThanOrEqual(90);
    expect(server.hits).toHaveLength(2);
  });

  it("caps Retry-After at backoffMaxMs", async () => {
    const server = await serve(
      json(429, {}, { "retry-after": "3600" }),
      json(200, openaiCompletion("ok", { prompt_tokens: 1, completion_tokens: 1 })),
    );
    const res = await openai(server.url, { backoffMaxMs: 30 }).complete({ messages });
    expect(res.attempts).toBe(2);
  });

  it("retries 500s, then succeeds", async () => {
    const server = await serve(
      json(500, { error: { message: "boom" } }),
      json(502, {}),
      json(200, openaiCompletion("ok", { prompt_tokens: 1, completion_tokens: 1 })),
    );
    const res = await openai(server.url).complete({ messages });
    expect(res).toMatchObject({ text: "ok", attempts: 3, fellBack: false });
  });

  it("gives up after `retries` with the last error", async () => {
    const server = await serve(json(503, { error: { message: "overloaded" } }));
    const err = await openai(server.url, { retries: 1 })
      .complete({ messages })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmError);
    expect(err).toMatchObject({ type: "server_error", status: 503, attempts: 2 });
    expect((err as Error).message).toContain("overloaded");
    expect(server.hits).toHaveLength(2);
  });

  it("does not retry a 400", async () => {
    const server = await serve(json(400, { error: { message: "bad model" } }));
    const err = await openai(server.url, { fallbackToOffline: true })
      .complete({ messages })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmError);
    expect(err).toMatchObject({ type: "bad_request", status: 400, attempts: 1, retryable: false });
    expect((err as Error).message).toContain("bad model");
    expect(server.hits).toHaveLength(1);
  });

  it("times out a stream that stalls midway, retrying each time", async () => {
    const server = await serve(lines("text/event-stream", openaiSse(["a", "b"]), { stallAt: 2 }));
    const startedAt = Date.now();
    const err = await openai(server.url, { timeoutMs: 150, retries: 1 })
      .complete({ messages, stream: true })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmError);
    expect(err).toMatchObject({ type: "timeout", attempts: 2 });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(290);
    expect(server.hits).toHaveLength(2);
  });

  it("rejects a stream cut short as bad_response", async () => {
    const server = await serve(lines("text/event-stream", openaiSse(["a", "b"]).slice(0, 2)));
    await expect(openai(server.url).complete({ messages, stream: true })).rejects.toMatchObject({
      type: "bad_response",
      attempts: 1,
    });
  });

  it("rejects a non-JSON answer as bad_response", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html>proxy</html>");
    });
    await expect(openai(server.url).complete({ messages })).rejects.toMatchObject({ type: "bad_response" });
  });

  it("falls back to offline after 5xx when asked to", async () => {
    const server = await serve(json(500, {}));
    const res = await openai(server.url, { fallbackToOffline: true }).complete({ messages });
    expect(res).toMatchObject({
      source: "offline",
      fellBack: true,
      attempts: 3,
      text: offlineReply(messages),
    });
  });

  it("stops at once, without retrying, when the caller aborts", async () => {
    const server = await serve(lines("text/event-stream", openaiSse(["a", "b"]), { stallAt: 2 }));
    const controller = new AbortController();
    const reason = new Error("caller gave up");
    setTimeout(() => controller.abort(reason), 50);
    await expect(
      openai(server.url, { fallbackToOffline: true }).complete({
        messages,
        stream: true,
        signal: controller.signal,
      }),
    ).rejects.toBe(reason);
    expect(server.hits).toHaveLength(1);
  });
});

describe("LlmClient with an Ollama server", () => {
  it("reads a whole answer with the provider's counts", async () => {
    const server = await serve(json(200, ollamaWhole("Hello.")));
    const res = await ollama(server.url).complete({ messages, maxTokens: 20, temperature: 0 });
    expect(res).toMatchObject({
      text: "Hello.",
      source: "ollama",
      model: "llama-test",
      usage: { inputTokens: 26, outputTokens: 3, counted: false },
      timeToFirstTokenMs: null,
      attempts: 1,
      fellBack: false,
    });
    expect(server.hits[0]).toMatchObject({
      path: "/api/chat",
      body: { model: "llama-test", messages, stream: false, options: { num_predict: 20, temperature: 0 } },
    });
    expect(server.hits[0]!.headers.authorization).toBeUndefined();
  });

  it("streams NDJSON lines, taking the counts from the done line", async () => {
    const server = await serve(lines("application/x-ndjson", ollamaNdjson(["Hel", "lo."])));
    const res = await ollama(server.url).complete({ messages, stream: true });
    expect(res).toMatchObject({
      text: "Hello.",
      source: "ollama",
      usage: { inputTokens: 26, outputTokens: 3, counted: false },
    });
    expect(server.hits[0]!.body).toMatchObject({ stream: true });
  });

  it("counts tokens when the counts are missing", async () => {
    const server = await serve(
      json(200, ollamaWhole("Hello there.", false)),
      lines("application/x-ndjson", ollamaNdjson(["Hello", " there."], false)),
    );
    const client = ollama(server.url);
    const expected = { inputTokens: countMessageTokens(messages), outputTokens: countTokens("Hello there.") };
    expect((await client.complete({ messages })).usage).toEqual({ ...expected, counted: true });
    const streamed = await client.complete({ messages, stream: true });
    expect(streamed.text).toBe("Hello there.");
    expect(streamed.usage).toEqual({ ...expected, counted: true });
  });

  it("measures time to first token", async () => {
    const server = await serve(
      lines("application/x-ndjson", ollamaNdjson(["a", "b", "c"]), { firstDelayMs: 80, gapMs: 20 }),
    );
    const res = await ollama(server.url).complete({ messages, stream: true });
    expect(res.text).toBe("abc");
    expect(res.timeToFirstTokenMs).toBeGreaterThanOrEqual(75);
    expect(res.timeToFirstTokenMs).toBeLessThanOrEqual(res.latencyMs);
  });

  it("retries 500s and times out a stalled stream", async () => {
    const flaky = await serve(json(500, { error: "model runner crashed" }), json(200, ollamaWhole("ok")));
    expect(await ollama(flaky.url).complete({ messages })).toMatchObject({ text: "ok", attempts: 2 });

    const stalled = await serve(lines("application/x-ndjson", ollamaNdjson(["a", "b"]), { stallAt: 1 }));
    await expect(
      ollama(stalled.url, { timeoutMs: 150, retries: 0 }).complete({ messages, stream: true }),
    ).rejects.toMatchObject({ type: "timeout", attempts: 1 });
  });

  it("maps an unknown model (404) to bad_request", async () => {
    const server = await serve(json(404, { error: "model 'nope' not found" }));
    await expect(ollama(server.url).complete({ messages })).rejects.toMatchObject({
      type: "bad_request",
      status: 404,
      message: expect.stringContaining("not found"),
    });
    expect(server.hits).toHaveLength(1);
  });
});

describe("unreachable providers", () => {
  it("falls back to offline when asked to", async () => {
    const url = await deadUrl();
    const res = await openai(url, { fallbackToOffline: true }).complete({ messages, stream: true });
    expect(res).toMatchObject({
      source: "offline",
      model: "offline",
      fellBack: true,
      attempts: 3,
      text: offlineReply(messages),
      usage: { counted: true },
    });
    expect(res.timeToFirstTokenMs).not.toBeNull();
  });

  it("fails with unreachable otherwise", async () => {
    const url = await deadUrl();
    const err = await ollama(url, { retries: 1 })
      .complete({ messages })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmError);
    expect(err).toMatchObject({ type: "unreachable", attempts: 2, status: undefined });
    expect((err as Error).message).toContain("ECONNREFUSED");
  });
});

describe("offline provider", () => {
  const client = new LlmClient({ provider: "offline", model: "offline" });

  it("answers deterministically, saying it is simulated", async () => {
    const a = await client.complete({ messages });
    const b = await client.complete({ messages: messages.map((m) => ({ ...m })) });
    const c = await client.complete({ messages: [...messages, { role: "user", content: "Again." }] });
    expect(a.text).toBe(b.text);
    expect(c.text).not.toBe(a.text);
    expect(a.text).toContain("offline simulated");
    expect(a.text).toContain("Say hello.");
    expect(c.text).toContain("Again.");
    expect(a).toMatchObject({
      source: "offline",
      model: "offline",
      attempts: 1,
      fellBack: false,
      timeToFirstTokenMs: null,
      usage: { inputTokens: countMessageTokens(messages), outputTokens: countTokens(a.text), counted: true },
    });
    expect(a.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("rejects an empty chat", async () => {
    await expect(client.complete({ messages: [] })).rejects.toThrow(TypeError);
  });
});

describe("token counting", () => {
  it("is ceil(chars / 4), plus 4 per message", () => {
    expect(countTokens("")).toBe(0);
    expect(countTokens("abcd")).toBe(1);
    expect(countTokens("abcde")).toBe(2);
    expect(countTokens("héllo wörld 🙂")).toBe(4); // 13 code points
    expect(countMessageTokens([{ role: "user", content: "abcde" }])).toBe(6);
  });
});

describe("llmOptionsFromEnv", () => {
  it("defaults to the offline provider", () => {
    expect(llmOptionsFromEnv({})).toEqual({
      provider: "offline",
      model: "offline",
      timeoutMs: 60_000,
      fallbackToOffline: false,
    });
    const client = llmClientFromEnv({});
    expect(client).toMatchObject({ provider: "offline", model: "offline", baseUrl: undefined });
  });

  it("reads every variable", () => {
    const env = {
      OVERSEER_LLM_PROVIDER: "openai",
      OVERSEER_LLM_BASE_URL: "http://vllm:8000",
      OVERSEER_LLM_API_KEY: "sk-1",
      OVERSEER_LLM_MODEL: "qwen",
      OVERSEER_LLM_TIMEOUT_MS: "1500",
      OVERSEER_LLM_FALLBACK: "true",
    };
    expect(llmOptionsFromEnv(env)).toEqual({
      provider: "openai",
      baseUrl: "http://vllm:8000",
      apiKey: "sk-1",
      model: "qwen",
      timeoutMs: 1500,
      fallbackToOffline: true,
    });
    expect(llmClientFromEnv({ ...env, OVERSEER_LLM_BASE_URL: "" }, { retries: 0 })).toMatchObject({
      provider: "openai",
      baseUrl: "https://api.openai.com",
    });
    expect(llmClientFromEnv({ OVERSEER_LLM_PROVIDER: "ollama", OVERSEER_LLM_MODEL: "llama3" }).baseUrl).toBe(
      "http://127.0.0.1:11434",
    );
  });

  it("lists every bad value in one error", () => {
    const bad = () =>
      llmOptionsFromEnv({
        OVERSEER_LLM_PROVIDER: "anthropic",
        OVERSEER_LLM_BASE_URL: "vllm:8000",
        OVERSEER_LLM_TIMEOUT_MS: "1.5s",
        OVERSEER_LLM_FALLBACK: "yes",
      });
    expect(bad).toThrow(/OVERSEER_LLM_PROVIDER must be one of openai, ollama, offline \(got "anthropic"\)/);
    expect(bad).toThrow(/OVERSEER_LLM_BASE_URL must be an http\(s\) URL/);
    expect(bad).toThrow(/OVERSEER_LLM_TIMEOUT_MS must be a positive integer/);
    expect(bad).toThrow(/OVERSEER_LLM_FALLBACK must be "true" or "false"/);
    expect(() => llmOptionsFromEnv({ OVERSEER_LLM_TIMEOUT_MS: "0" })).toThrow(/TIMEOUT_MS/);
  });

  it("requires a model for real providers", () => {
    expect(() => llmOptionsFromEnv({ OVERSEER_LLM_PROVIDER: "ollama" })).toThrow(
      /OVERSEER_LLM_MODEL is required when OVERSEER_LLM_PROVIDER=ollama/,
    );
  });
});
