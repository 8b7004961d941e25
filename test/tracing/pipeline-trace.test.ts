import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SPANS } from "../../contract/telemetry/span-names.ts";
import { startTracingFromEnv, type TracingHandle } from "../../contract/telemetry/start-tracing.ts";
import { spanIds, traceIdOf } from "../../daemon/telemetry/trace-ids.ts";
import type { Agent } from "../../sdk/agent.ts";
import { LlmClient } from "../../sdk/llm/llm-client.ts";
import { call } from "../helpers/api-client.ts";
import { eventually, type TestDaemon } from "../helpers/daemon-harness.ts";
import { dropNamespace } from "../helpers/namespace-cleanup.ts";
import { killAndWait, spawnDaemon } from "../helpers/processes.ts";
import { daemonEnv, freshNamespace, TOKENS } from "../helpers/test-env.ts";
import { startPipelineAgents, stopAgents } from "../pipelines/helpers.ts";
import { freePort, type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "./otlp-receiver.ts";

// The acceptance test of traces: a daemon process configured only by OTEL_* variables and SDK agents
// with their own tracer provider export to one local OTLP/HTTP receiver; a story run's trace then
// holds the run, every step, every attempt, the agents' handler spans and their LLM spans.

let receiver: OtlpReceiver;
let daemon: ChildProcess | undefined;
let agentTracing: TracingHandle | null = null;
let agents: Agent[] = [];
const namespace = freshNamespace();
let url = "";

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const port = await freePort();
  daemon = await spawnDaemon(
    daemonEnv(namespace, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: "overseer-under-test",
      OTEL_BSP_SCHEDULE_DELAY: "100",
    }),
    port,
  );
  url = `http://127.0.0.1:${port}`;
  // The agents' process (this one) gets its own provider from the same kind of variables.
  agentTracing = await startTracingFromEnv({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_SERVICE_NAME: "overseer-test-agents",
  });
  agents = await startPipelineAgents({ url } as TestDaemon, {
    workMs: 5,
    llm: new LlmClient({ provider: "offline", model: "offline" }),
  });
});

afterAll(async () => {
  await stopAgents(agents);
  await agentTracing?.shutdown();
  if (daemon) await killAndWait(daemon, "SIGKILL");
  await receiver?.close();
  await dropNamespace(namespace);
});

const byName = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);

it("a story run's trace holds the run, its steps, the attempts, the agents' handler spans and the LLM spans", async () => {
  const started = await call(url, "POST", "/api/pipelines/story/runs", {
    token: TOKENS.operator,
    body: { input: { story: "users can export their data" } },
  });
  expect(started.status).toBe(202);
  const runId = started.body.id as string;
  const run = await eventually(
    async () => {
      const r = await call(url, "GET", `/api/pipelines/runs/${runId}`, { token: TOKENS.viewer });
      return r.status === 200 && r.body.state === "completed" ? r.body : null;
    },
    30_000,
    "the story run to complete",
  );
  const steps = run.steps as Array<{ id: string; taskId: string | null; state: string }>;

  // The agents' spans are flushed here; the daemon's on its drain (SIGTERM), as in production.
  await agentTracing?.forceFlush();
  expect(await killAndWait(daemon as ChildProcess, "SIGTERM")).toBe(0);
  daemon = undefined;

  const traceId = traceIdOf(runId);
  expect(traceId).toBe(runId.replaceAll("-", ""));
  const spans = await eventually(
    async () => {
      const inTrace = receiver.spans.filter((s) => s.traceId === traceId);
      return byName(inTrace, SPANS.pipelineRun).length > 0 ? inTrace : null;
    },
    10_000,
    "the run span",
  );
  expect(receiver.contentTypes.every((t) => t.startsWith("application/json"))).toBe(true);

  // The run: the trace's root, from the daemon.
  const [runSpan, ...more] = byName(spans, SPANS.pipelineRun);
  expect(more).toEqual([]);
  expect(runSpan?.parentSpanId).toBe("");
  expect(runSpan?.spanId).toBe(spanIds.run(runId));
  expect(runSpan?.service).toBe("overseer-under-test");
  expect(runSpan?.attributes).toMatchObject({
    "overseer.run.id": runId,
    "overseer.pipeline.template": "story",
    "overseer.run.state": "completed",
  });

  // Every step: a child of the run, once.
  const stepSpans = byName(spans, SPANS.pipelineStep);
  expect(stepSpans.map((s) => s.attributes["overseer.step.id"]).sort()).toEqual(
    steps.map((s) => s.id).sort(),
  );
  for (const step of stepSpans) {
    expect(step.parentSpanId).toBe(runSpan?.spanId);
    expect(step.attributes["overseer.step.state"]).toBe("completed");
    expect(step.startNs).toBeGreaterThanOrEqual(runSpan?.startNs ?? 0n);
    expect(step.endNs).toBeLessThanOrEqual(runSpan?.endNs ?? 0n);
  }

  // Every step's task: its attempt span is a child of the step span.
  const attempts = byName(spans, SPANS.taskAttempt);
  const handlers = byName(spans, SPANS.taskHandle);
  const llm = byName(spans, "chat offline");
  for (const step of steps) {
    const stepSpan = stepSpans.find((s) => s.attributes["overseer.step.id"] === step.id) as ReceivedSpan;
    const attempt = attempts.find((a) => a.attributes["overseer.task.id"] === step.taskId);
    expect(attempt, `attempt of ${step.id}`).toBeDefined();
    expect(attempt?.parentSpanId).toBe(stepSpan.spanId);
    expect(attempt?.attributes["overseer.attempt.outcome"]).toBe("completed");
    // The agent's handler span: a child of the attempt, from the agents' own provider.
    const handler = handlers.find((h) => h.parentSpanId === attempt?.spanId);
    expect(handler, `handler of ${step.id}`).toBeDefined();
    expect(handler?.service).toBe("overseer-test-agents");
    expect(handler?.attributes).toMatchObject({
      "overseer.task.id": step.taskId,
      "overseer.step.id": step.id,
    });
    // The attempt links back to the handler span the agent reported with complete.
    expect(attempt?.links).toContainEqual({ traceId, spanId: handler?.spanId });
    // The step's LLM calls: GenAI client spans under the handler.
    const calls = llm.filter((c) => c.parentSpanId === handler?.spanId);
    expect(calls.length, `LLM calls of ${step.id}`).toBeGreaterThanOrEqual(1);
    for (const c of calls) {
      expect(c.attributes).toMatchObject({
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "offline",
        "overseer.step.id": step.id,
      });
    }
  }
  // Nothing of the run strayed into another trace.
  const strays = receiver.spans.filter(
    (s) => s.traceId !== traceId && (s.attributes["overseer.run.id"] === runId || s.name === "chat offline"),
  );
  expect(strays).toEqual([]);
  // Each span once, though every replica could have emitted them.
  const ids = spans.map((s) => s.spanId);
  expect(new Set(ids).size).toBe(ids.length);
  const count = new Map<string, number>();
  for (const s of spans) count.set(s.name, (count.get(s.name) ?? 0) + 1);
  console.log(
    `tracing-acceptance: trace ${traceId} of run ${runId}: ${spans.length} spans from ${new Set(spans.map((s) => s.service)).size} services: ${[...count].map(([n, c]) => `${n}×${c}`).join(", ")}`,
  );
});
