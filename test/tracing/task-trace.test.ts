import { afterAll, beforeAll, expect, it } from "vitest";
import { OverseerDaemon } from "../../app/overseer-daemon.ts";
import { SPANS } from "../../contract/telemetry/span-names.ts";
import type { TracingHandle } from "../../contract/telemetry/start-tracing.ts";
import { parseTraceparent } from "../../contract/telemetry/trace-context.ts";
import { compileConfig } from "../../daemon/config/compile-config.ts";
import { createLogger } from "../../daemon/telemetry/logger.ts";
import { spanIds, traceIdOf } from "../../daemon/telemetry/trace-ids.ts";
import { startTracing } from "../../daemon/telemetry/tracing.ts";
import { call } from "../helpers/api-client.ts";
import { eventually } from "../helpers/daemon-harness.ts";
import { dropNamespace } from "../helpers/namespace-cleanup.ts";
import { daemonEnv, freshNamespace, TOKENS } from "../helpers/test-env.ts";
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "./otlp-receiver.ts";

// A task outside any run has a trace of its own (trace id = its id), with its attempts under it; the
// daemon's log lines about an attempt carry that attempt's trace and span ids. In-process: this
// file's worker registers the daemon's tracing as main.ts does.

let receiver: OtlpReceiver;
let tracing: TracingHandle | null = null;
let daemon: OverseerDaemon;
let url = "";
const namespace = freshNamespace();
const lines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const config = compileConfig(
    daemonEnv(namespace, { LOG_LEVEL: "debug", OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }),
  );
  tracing = await startTracing(config.tracing, { namespace });
  const log = createLogger("debug", { write: (s: string) => void lines.push(JSON.parse(s)) });
  daemon = new OverseerDaemon({ config, logger: log, tracing });
  url = await daemon.start();
});

afterAll(async () => {
  await daemon?.stop();
  await receiver?.close();
  await dropNamespace(namespace);
});

let beat: NodeJS.Timeout | undefined;
afterAll(() => clearInterval(beat));

/** A registered agent that heartbeats (a silent one is declared dead within a second here). */
async function agent(): Promise<{ id: string; token: string }> {
  const r = await call(url, "POST", "/api/agents/register", {
    token: TOKENS.agentSecret,
    body: { name: "tracer", role: "worker", capabilities: ["traced"], concurrency: 1 },
  });
  const { id, token } = r.body;
  beat = setInterval(() => {
    void call(url, "POST", `/api/agents/${id}/heartbeat`, { token, body: {} }).catch(() => {});
  }, 200);
  return { id, token };
}

async function claimOne(a: { id: string; token: string }) {
  const r = await call(url, "POST", `/api/agents/${a.id}/claim`, {
    token: a.token,
    body: { max: 1, waitMs: 5_000 },
  });
  expect(r.status).toBe(200);
  return r.body.tasks[0];
}

it("a task's trace: the task span, its attempts under it, the agent's span linked, ids in the logs", async () => {
  expect(tracing).not.toBeNull();
  const a = await agent();
  const submitted = await call(url, "POST", "/api/tasks", {
    token: TOKENS.operator,
    body: { type: "traced", payload: {}, maxAttempts: 3 },
  });
  const taskId = submitted.body.id as string;
  const traceId = traceIdOf(taskId);

  // Attempt 1 fails (retryable), attempt 2 completes.
  const first = await claimOne(a);
  expect(first.traceparent).toBe(`00-${traceId}-${spanIds.attempt(taskId, 1)}-01`);
  const agentSpan1 = `00-${traceId}-aaaaaaaaaaaaaaa1-01`;
  expect(
    (
      await call(url, "POST", `/api/tasks/${taskId}/fail`, {
        token: a.token,
        body: {
          leaseToken: first.leaseToken,
          error: { message: "flaky", category: "upstream" },
          traceparent: agentSpan1,
        },
      })
    ).status,
  ).toBe(200);
  const second = await claimOne(a);
  expect(parseTraceparent(second.traceparent)?.spanId).toBe(spanIds.attempt(taskId, 2));
  const agentSpan2 = `00-${traceId}-aaaaaaaaaaaaaaa2-01`;
  await call(url, "POST", `/api/tasks/${taskId}/complete`, {
    token: a.token,
    body: { leaseToken: second.leaseToken, result: { ok: true }, traceparent: agentSpan2 },
  });

  await tracing?.forceFlush();
  const spans = await eventually(
    async () => {
      const mine = receiver.spans.filter((s) => s.traceId === traceId);
      return mine.some((s) => s.name === SPANS.task) ? mine : null;
    },
    10_000,
    "the task span",
  );
  const task = spans.find((s) => s.name === SPANS.task) as ReceivedSpan;
  expect(task.parentSpanId).toBe("");
  expect(task.spanId).toBe(spanIds.task(taskId));
  expect(task.attributes).toMatchObject({ "overseer.task.state": "completed", "overseer.task.attempts": 2 });
  const attempts = spans.filter((s) => s.name === SPANS.taskAttempt);
  expect(attempts.map((s) => s.attributes["overseer.task.attempt"]).sort()).toEqual([1, 2]);
  const [one, two] = [1, 2].map((n) => attempts.find((s) => s.attributes["overseer.task.attempt"] === n));
  expect(one?.parentSpanId).toBe(task.spanId);
  expect(one?.attributes).toMatchObject({
    "overseer.attempt.outcome": "failed",
    "overseer.attempt.decision": "queued",
    "error.type": "upstream",
  });
  expect(one?.status.code).toBe(2);
  expect(one?.links).toEqual([{ traceId, spanId: "aaaaaaaaaaaaaaa1" }]);
  expect(two?.parentSpanId).toBe(task.spanId);
  expect(two?.links).toEqual([{ traceId, spanId: "aaaaaaaaaaaaaaa2" }]);
  expect(two?.startNs).toBeLessThanOrEqual(two?.endNs ?? 0n);
  expect(task.startNs).toBeLessThanOrEqual(one?.startNs ?? 0n);

  // Log lines written in an attempt's context carry its ids; others carry none.
  const completed = lines.find((l) => l.event === "task.completed" && l.taskId === taskId);
  expect(completed).toMatchObject({ trace_id: traceId, span_id: spanIds.attempt(taskId, 2) });
  const failed = lines.find((l) => l.event === "task.failed" && l.taskId === taskId);
  expect(failed).toMatchObject({ trace_id: traceId, span_id: spanIds.attempt(taskId, 1) });
  const running = lines.find((l) => l.msg === "overseer is running");
  expect(running).toBeDefined();
  expect(running?.trace_id).toBeUndefined();
});
