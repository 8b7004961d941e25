// Every LlmClient.complete() is one CLIENT span following the OpenTelemetry GenAI conventions,
// driven here through the real fetch path against fake OpenAI-compatible and Ollama servers.
import { randomUUID } from "node:crypto";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import type { CallRecorder } from "../../sdk/llm/call-recorder.ts";
import { LlmClient, type LlmClientOptions, type LlmMessage } from "../../sdk/llm/index.ts";
import { taskLlm } from "../../sdk/llm/task-llm.ts";
import { systemClock } from "../../sdk/runtime.ts";
import { SDK_VERSION } from "../../sdk/version.ts";
import {
  closeFakeServers,
  json,
  lines,
  ollamaNdjson,
  openaiCompletion,
  openaiSse,
  serve,
} from "./fake-llm-server.ts";
import { cleanup, deadUrl, makeAgent, startStub } from "./helpers.ts";

afterEach(async () => {
  await closeFakeServers();
  await cleanup();
});

const messages: LlmMessage[] = [{ role: "user", content: "Say hello." }];
const fast = { retries: 2, backoffBaseMs: 1, backoffMaxMs: 20, timeoutMs: 5_000 };

/** A tracer whose finished spans land in memory. */
function recording() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { provider, tracer: provider.getTracer("test"), spans: () => exporter.getFinishedSpans() };
}

function client(opts: Partial<LlmClientOptions> & Pick<LlmClientOptions, "provider">): LlmClient {
  return new LlmClient({ model: opts.provider === "ollama" ? "llama-test" : "gpt-test", ...fast, ...opts });
}

const portOf = (url: string) => Number(new URL(url).port);

function only(spans: ReadableSpan[]): ReadableSpan {
  expect(spans).toHaveLength(1);
  return spans[0]!;
}

describe("LLM call spans", () => {
  it("describe a whole OpenAI-compatible answer", async () => {
    const { tracer, spans } = recording();
    const server = await serve(
      json(200, openaiCompletion("Hello.", { prompt_tokens: 21, completion_tokens: 2 })),
    );
    const llm = client({ provider: "openai", baseUrl: server.url, tracer });
    await llm.complete(
      { messages, maxTokens: 50, temperature: 0.2 },
      { conversationId: "conv-1", agentId: "agent-7" },
    );
    const span = only(spans());
    expect(span.name).toBe("chat gpt-test");
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.events).toEqual([]);
    expect(span.attributes).toEqual({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "openai",
      "gen_ai.request.model": "gpt-test",
      "gen_ai.request.max_tokens": 50,
      "gen_ai.request.temperature": 0.2,
      "gen_ai.response.model": "gpt-test-0613",
      "gen_ai.usage.input_tokens": 21,
      "gen_ai.usage.output_tokens": 2,
      "gen_ai.conversation.id": "conv-1",
      "gen_ai.agent.id": "agent-7",
      "server.address": "127.0.0.1",
      "server.port": portOf(server.url),
      "overseer.llm.source": "openai",
      "overseer.llm.tokens_counted": false,
      "overseer.llm.attempts": 1,
    });
  });

  it("carry the time to first token of a stream, and the request's model in the name", async () => {
    const { tracer, spans } = recording();
    const server = await serve(
      lines("text/event-stream", openaiSse(["Hel", "lo."], { prompt_tokens: 5, completion_tokens: 2 })),
    );
    const res = await client({ provider: "openai", baseUrl: server.url, tracer }).complete({
      messages,
      stream: true,
      model: "gpt-other",
    });
    const span = only(spans());
    expect(span.name).toBe("chat gpt-other");
    expect(span.attributes).toMatchObject({
      "gen_ai.request.model": "gpt-other",
      "overseer.llm.ttft_ms": res.timeToFirstTokenMs,
      "gen_ai.response.time_to_first_chunk": res.timeToFirstTokenMs! / 1000,
    });
    expect(span.attributes).not.toHaveProperty("gen_ai.request.max_tokens");
  });

  it("name Ollama and say when tokens were counted", async () => {
    const { tracer, spans } = recording();
    const server = await serve(lines("application/x-ndjson", ollamaNdjson(["Hi", "."], false)));
    const res = await client({ provider: "ollama", baseUrl: server.url, tracer }).complete({
      messages,
      stream: true,
    });
    expect(only(spans()).attributes).toMatchObject({
      "gen_ai.provider.name": "ollama",
      "gen_ai.request.model": "llama-test",
      "gen_ai.response.model": "llama-test",
      "gen_ai.usage.input_tokens": res.usage.inputTokens,
      "gen_ai.usage.output_tokens": res.usage.outputTokens,
      "overseer.llm.tokens_counted": true,
      "overseer.llm.source": "ollama",
      "server.port": portOf(server.url),
    });
  });

  it("are one span per call, with an event per retry", async () => {
    const { tracer, spans } = recording();
    const server = await serve(
      json(500, { error: { message: "boom" } }),
      json(429, {}),
      json(200, openaiCompletion("ok", { prompt_tokens: 1, completion_tokens: 1 })),
    );
    await client({ provider: "openai", baseUrl: server.url, tracer }).complete({ messages });
    const span = only(spans());
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.attributes).toMatchObject({ "overseer.llm.attempts": 3 });
    expect(span.attributes).not.toHaveProperty("error.type");
    expect(span.events.map((e) => [e.name, e.attributes])).toEqual([
      [
        "overseer.llm.retry",
        {
          "overseer.llm.attempt": 1,
          "error.type": "server_error",
          "http.response.status_code": 500,
          "overseer.llm.retry_delay_ms": expect.any(Number),
        },
      ],
      [
        "overseer.llm.retry",
        expect.objectContaining({
          "overseer.llm.attempt": 2,
          "error.type": "rate_limited",
          "http.response.status_code": 429,
        }),
      ],
    ]);
  });

  it("end with status ERROR and error.type on a rejected request", async () => {
    const { tracer, spans } = recording();
    const server = await serve(json(400, { error: { message: "bad model" } }));
    await expect(
      client({ provider: "openai", baseUrl: server.url, tracer }).complete({ messages }),
    ).rejects.toMatchObject({ type: "bad_request" });
    const span = only(spans());
    expect(span.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: expect.stringContaining("bad model"),
    });
    expect(span.attributes).toMatchObject({
      "error.type": "bad_request",
      "http.response.status_code": 400,
      "overseer.llm.attempts": 1,
    });
    expect(span.attributes).not.toHaveProperty("gen_ai.response.model");
    expect(span.events.map((e) => e.name)).toEqual(["exception"]);
  });

  it("end with error.type timeout when a stream stalls", async () => {
    const { tracer, spans } = recording();
    const server = await serve(lines("application/x-ndjson", ollamaNdjson(["a", "b"]), { stallAt: 1 }));
    await expect(
      client({ provider: "ollama", baseUrl: server.url, tracer, timeoutMs: 100, retries: 1 }).complete({
        messages,
        stream: true,
      }),
    ).rejects.toMatchObject({ type: "timeout" });
    const span = only(spans());
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes).toMatchObject({ "error.type": "timeout", "overseer.llm.attempts": 2 });
    expect(span.events.map((e) => e.name)).toEqual(["overseer.llm.retry", "exception"]);
  });

  it("record a fallback to offline in overseer.llm.source, with the retries and the fallback as events", async () => {
    const { tracer, spans } = recording();
    const url = await deadUrl();
    const res = await client({ provider: "openai", baseUrl: url, tracer, fallbackToOffline: true }).complete({
      messages,
    });
    expect(res.fellBack).toBe(true);
    const span = only(spans());
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.attributes).toMatchObject({
      "gen_ai.provider.name": "openai",
      "gen_ai.response.model": "offline",
      "overseer.llm.source": "offline",
      "overseer.llm.tokens_counted": true,
      "overseer.llm.attempts": 3,
      "server.port": portOf(url),
    });
    expect(span.events.map((e) => [e.name, e.attributes?.["error.type"]])).toEqual([
      ["overseer.llm.retry", "unreachable"],
      ["overseer.llm.retry", "unreachable"],
      ["overseer.llm.fallback", "unreachable"],
    ]);
    expect(span.events[2]!.attributes).toMatchObject({ "overseer.llm.attempts": 3 });
  });

  it("name the offline provider overseer.offline, without a server", async () => {
    const { tracer, spans } = recording();
    await new LlmClient({ provider: "offline", model: "offline", tracer }).complete({ messages });
    const span = only(spans());
    expect(span.name).toBe("chat offline");
    expect(span.attributes).toMatchObject({
      "gen_ai.provider.name": "overseer.offline",
      "overseer.llm.source": "offline",
    });
    expect(span.attributes).not.toHaveProperty("server.address");
  });

  it("end with error.type aborted when the caller aborts", async () => {
    const { tracer, spans } = recording();
    const server = await serve(lines("text/event-stream", openaiSse(["a"]), { stallAt: 1 }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("caller gave up")), 50);
    await expect(
      client({ provider: "openai", baseUrl: server.url, tracer }).complete({
        messages,
        stream: true,
        signal: controller.signal,
      }),
    ).rejects.toThrow("caller gave up");
    const span = only(spans());
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: "caller gave up" });
    expect(span.attributes["error.type"]).toBe("aborted");
  });

  it("carry the task, run and step when made through ctx.llm", async () => {
    const { tracer, spans } = recording();
    const recorder = { record: () => undefined } as unknown as CallRecorder;
    const [taskId, runId] = [randomUUID(), randomUUID()];
    const llm = taskLlm({
      client: new LlmClient({ provider: "offline", model: "offline", tracer }),
      recorder,
      clock: systemClock,
      taskId,
      agentId: "agent-3",
      payload: { pipeline: { runId, stepId: "draft" } },
      signal: new AbortController().signal,
      recordContent: false,
    });
    await llm.complete({ messages });
    expect(only(spans()).attributes).toMatchObject({
      "overseer.task.id": taskId,
      "overseer.run.id": runId,
      "overseer.step.id": "draft",
      "gen_ai.agent.id": "agent-3",
    });
  });

  it("carry the agent's id in an agent's handlers", async () => {
    const { tracer, spans } = recording();
    const stub = await startStub();
    stub.override((req) =>
      req.path === "/api/llm/calls" ? { status: 202, body: { recorded: 1 } } : undefined,
    );
    const agent = makeAgent(stub, {
      llm: new LlmClient({ provider: "offline", model: "offline", tracer }),
      handlers: { ask: async (ctx) => (await ctx.llm!.complete({ messages })).text },
    });
    await agent.start();
    stub.enqueue({ id: "task-1", type: "ask" });
    await stub.waitFor(() => stub.requestsTo("POST", "/api/tasks/task-1/complete").length > 0);
    expect(only(spans()).attributes).toMatchObject({
      "overseer.task.id": "task-1",
      "gen_ai.agent.id": "agent-1",
    });
  });
});

describe("the global tracer provider", () => {
  afterEach(() => trace.disable());

  it("is a no-op until one is registered, then records under the overseer-sdk scope", async () => {
    const llm = new LlmClient({ provider: "offline", model: "offline" });
    const before = await llm.complete({ messages });
    const { provider, spans } = recording();
    expect(trace.setGlobalTracerProvider(provider)).toBe(true);
    const after = await llm.complete({ messages });
    expect(after.text).toBe(before.text);
    const span = only(spans());
    expect(span.name).toBe("chat offline");
    expect(span.instrumentationScope).toMatchObject({ name: "overseer-sdk", version: SDK_VERSION });
    expect(SDK_VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });
});
