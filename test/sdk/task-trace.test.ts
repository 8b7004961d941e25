import { trace } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { startTracing, type TracingHandle } from "../../contract/telemetry/start-tracing.ts";
import { parseTraceparent } from "../../contract/telemetry/trace-context.ts";
import { LlmClient } from "../../sdk/llm/llm-client.ts";
import type { TaskContext } from "../../sdk/task-run.ts";
import { TASK_HANDLE_SPAN } from "../../sdk/task-span.ts";
import { cleanup, makeAgent, memoryLogger, startStub } from "./helpers.ts";

// The handler span: a child of the claim answer's traceparent, active while the handler runs (so
// ctx.llm's GenAI spans nest under it), reported back with complete and fail. Without a tracing SDK
// nothing is sent back and nothing is recorded.

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const ATTEMPT = "00f067aa0ba902b7";
const TRACEPARENT = `00-${TRACE}-${ATTEMPT}-01`;

let tracing: TracingHandle | null = null;
afterEach(async () => {
  await cleanup();
  await tracing?.shutdown();
  tracing = null;
});

const llmHandler = (llm: LlmClient) => async (ctx: TaskContext) => {
  ctx.log.info("working");
  const res = await llm.complete({ messages: [{ role: "user", content: "hello" }] });
  return { text: res.text.length };
};

describe("task handler spans", () => {
  it("without a tracing SDK: no traceparent goes back, but logs carry the daemon's attempt ids", async () => {
    const stub = await startStub();
    const log = memoryLogger();
    const agent = makeAgent(stub, {
      logger: log,
      handlers: { echo: llmHandler(new LlmClient({ provider: "offline", model: "offline" })) },
    });
    await agent.start();
    stub.enqueue({ id: "t1", type: "echo", traceparent: TRACEPARENT });
    const complete = await stub.waitFor(() => stub.requestsTo("POST", "/api/tasks/t1/complete")[0]);
    expect(complete.body.traceparent).toBeUndefined();
    const working = log.entries.find((e) => e.msg === "working");
    expect(working?.obj).toMatchObject({ taskId: "t1", trace_id: TRACE, span_id: ATTEMPT });
  });

  it("with one: the handler span is the attempt's child, LLM spans nest under it, and it is reported back", async () => {
    const exporter = new InMemorySpanExporter();
    tracing = await startTracing(
      {
        exporter: "otlp",
        url: "http://127.0.0.1:9/v1/traces",
        headers: {},
        serviceName: "agent-under-test",
        resourceAttributes: {},
        sampler: "parentbased_always_on",
        samplerRatio: 1,
      },
      { exporter },
    );
    const stub = await startStub();
    const log = memoryLogger();
    const agent = makeAgent(stub, {
      logger: log,
      handlers: {
        echo: llmHandler(new LlmClient({ provider: "offline", model: "offline" })),
        broken: () => {
          throw new Error("no luck");
        },
      },
    });
    await agent.start();
    stub.enqueue({
      id: "t1",
      type: "echo",
      traceparent: TRACEPARENT,
      payload: { pipeline: { runId: "r1", stepId: "s1" } },
    });
    const complete = await stub.waitFor(() => stub.requestsTo("POST", "/api/tasks/t1/complete")[0]);
    const reported = parseTraceparent(complete.body.traceparent);
    expect(reported?.traceId).toBe(TRACE);
    expect(reported?.spanId).not.toBe(ATTEMPT);

    stub.enqueue({ id: "t2", type: "broken" });
    const fail = await stub.waitFor(() => stub.requestsTo("POST", "/api/tasks/t2/fail")[0]);
    // No traceparent in the claim: the attempt's handler span starts a trace of its own.
    const failed = parseTraceparent(fail.body.traceparent);
    expect(failed?.traceId).not.toBe(TRACE);

    await tracing.forceFlush();
    const spans = exporter.getFinishedSpans();
    const handler = spans.find(
      (s) => s.name === TASK_HANDLE_SPAN && s.attributes["overseer.task.id"] === "t1",
    );
    expect(handler?.spanContext().spanId).toBe(reported?.spanId);
    expect(handler?.parentSpanContext?.spanId).toBe(ATTEMPT);
    expect(handler?.attributes).toMatchObject({
      "overseer.task.type": "echo",
      "overseer.task.attempt": 1,
      "overseer.run.id": "r1",
      "overseer.step.id": "s1",
      "overseer.task.outcome": "completed",
    });
    const chat = spans.find((s) => s.name === "chat offline");
    expect(chat?.spanContext().traceId).toBe(TRACE);
    expect(chat?.parentSpanContext?.spanId).toBe(handler?.spanContext().spanId);
    const brokenSpan = spans.find((s) => s.attributes["overseer.task.id"] === "t2");
    expect(brokenSpan?.spanContext().spanId).toBe(failed?.spanId);
    expect(brokenSpan?.status.code).toBe(2);
    expect(brokenSpan?.attributes["overseer.task.outcome"]).toBe("failed");
    // ctx.log lines carry the handler span's ids.
    const working = log.entries.find((e) => e.msg === "working");
    expect(working?.obj).toMatchObject({ trace_id: TRACE, span_id: reported?.spanId });
  });

  it("shutting tracing down unregisters the global provider", async () => {
    tracing = await startTracing(
      {
        exporter: "console",
        url: "http://127.0.0.1:9/v1/traces",
        headers: {},
        serviceName: "x",
        resourceAttributes: {},
        sampler: "always_on",
        samplerRatio: 1,
      },
      { exporter: new InMemorySpanExporter() },
    );
    expect(trace.getTracer("t").startSpan("s").isRecording()).toBe(true);
    await tracing.shutdown();
    tracing = null;
    expect(trace.getTracer("t").startSpan("s").isRecording()).toBe(false);
  });
});
