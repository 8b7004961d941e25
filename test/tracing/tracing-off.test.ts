import { trace } from "@opentelemetry/api";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTracingFromEnv } from "../../contract/telemetry/start-tracing.ts";
import { compileConfig } from "../../daemon/config/compile-config.ts";
import { createLogger } from "../../daemon/telemetry/logger.ts";
import { startTracing, traceSpans, tracingEnabled } from "../../daemon/telemetry/tracing.ts";
import { call } from "../helpers/api-client.ts";
import { dropNamespace } from "../helpers/namespace-cleanup.ts";
import { killAndWait, spawnDaemon } from "../helpers/processes.ts";
import { daemonEnv, freshNamespace, TOKENS } from "../helpers/test-env.ts";
import { freePort, type OtlpReceiver, startOtlpReceiver } from "./otlp-receiver.ts";

// Off means off: no OTEL_* exporter (or `none`) registers no provider, hands out no traceparent and
// exports nothing.

let receiver: OtlpReceiver;
const namespace = freshNamespace();

beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await dropNamespace(namespace);
});

it("without OTEL_* nothing is configured, registered or emitted in this process", async () => {
  const config = compileConfig(daemonEnv(namespace));
  expect(config.tracing).toBeNull();
  expect(await startTracing(config.tracing, { namespace })).toBeNull();
  expect(await startTracingFromEnv({})).toBeNull();
  expect(tracingEnabled()).toBe(false);
  // The global API still has no SDK behind it.
  expect(trace.getTracer("probe").startSpan("probe").isRecording()).toBe(false);
  expect(traceSpans.attemptTraceparent("4bf92f35-77b3-4da6-a3ce-929d0e0e4736", null, 1)).toBeUndefined();
  expect(traceSpans.inRun("r", () => 42)).toBe(42);
  // Log lines carry no trace fields.
  const lines: Array<Record<string, unknown>> = [];
  createLogger("info", { write: (s: string) => void lines.push(JSON.parse(s)) }).info("hello");
  expect(lines[0]).not.toHaveProperty("trace_id");
});

it("OTEL_TRACES_EXPORTER=none wins over an endpoint: a daemon process exports nothing", async () => {
  const port = await freePort();
  const proc = await spawnDaemon(
    daemonEnv(namespace, {
      OTEL_TRACES_EXPORTER: "none",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: "50",
    }),
    port,
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    const reg = await call(url, "POST", "/api/agents/register", {
      token: TOKENS.agentSecret,
      body: { name: "quiet", role: "worker", capabilities: ["quiet"] },
    });
    const submitted = await call(url, "POST", "/api/tasks", {
      token: TOKENS.operator,
      body: { type: "quiet", payload: {} },
    });
    expect(submitted.status).toBe(202);
    const claim = await call(url, "POST", `/api/agents/${reg.body.id}/claim`, {
      token: reg.body.token,
      body: { max: 1, waitMs: 5_000 },
    });
    const task = claim.body.tasks[0];
    expect(task).toBeDefined();
    expect(task).not.toHaveProperty("traceparent");
    const done = await call(url, "POST", `/api/tasks/${task.id}/complete`, {
      token: reg.body.token,
      body: { leaseToken: task.leaseToken, result: 1 },
    });
    expect(done.status).toBe(200);
  } finally {
    expect(await killAndWait(proc, "SIGTERM")).toBe(0);
  }
  expect(receiver.spans).toEqual([]);
  expect(receiver.contentTypes).toEqual([]);
});
