import type pg from "pg";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { Agent } from "../../sdk/agent.ts";
import { LlmClient, type LlmClientOptions } from "../../sdk/llm/llm-client.ts";
import type { TaskHandler } from "../../sdk/task-run.ts";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { TOKENS } from "../helpers/test-env.ts";
import {
  closeFakeServers,
  json,
  lines,
  ollamaNdjson,
  openaiCompletion,
  openaiSse,
  serve,
} from "../sdk/fake-llm-server.ts";

// End to end: a handler's ctx.llm call goes through the real HTTP client to a fake OpenAI-compatible
// or Ollama server, the agent's recorder delivers the record, and the daemon prices and stores it.
const PRICING = {
  "gpt-test-0613": { inputPerMTok: 2.5, outputPerMTok: 10 },
  "llama-test": { inputPerMTok: 1, outputPerMTok: 2 },
};
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const messages = [{ role: "user" as const, content: "Say hello." }];

let d: TestDaemon;
let db: pg.Client;
let n = 0;

beforeAll(async () => {
  d = await startTestDaemon({ OVERSEER_LLM_PRICING: JSON.stringify(PRICING) });
  db = await namespaceDb(d.namespace);
});
afterEach(closeFakeServers);
afterAll(async () => {
  await db?.end();
  await d?.close();
});

/** Runs one task whose handler makes one call with `client`; returns the call's stored row. */
async function recordOne(opts: LlmClientOptions, stream: boolean) {
  const type = `llm.e2e.${++n}`;
  const handler: TaskHandler = async (ctx) => {
    try {
      await ctx.llm?.complete({ messages, stream });
    } catch {
      // A failed call is recorded too; the task itself succeeds.
    }
    return null;
  };
  const agent = new Agent({
    url: d.url,
    agentSecret: TOKENS.agentSecret,
    name: `e2e-${n}`,
    role: "e2e",
    handlers: { [type]: handler },
    llm: new LlmClient({ ...opts, logger: quiet }),
    claimWaitMs: 500,
    logger: quiet,
  });
  await agent.start();
  try {
    const done = new Promise<void>((resolve) => agent.on("task:completed", () => resolve()));
    const submitted = await d.api("POST", "/api/tasks", { body: { type, payload: {} } });
    expect(submitted.status).toBe(202);
    await done;
    const r = await db.query<{
      provider: string;
      model: string;
      source: string;
      input_tokens: number;
      output_tokens: number;
      tokens_counted: boolean;
      cost: string;
      priced: boolean;
      latency_ms: number;
      ttft_ms: number | null;
      status: string;
      error_type: string | null;
      role: string;
    }>(
      `SELECT provider, model, source, input_tokens, output_tokens, tokens_counted, cost_usd::text AS cost, priced,
         latency_ms, ttft_ms, status, error_type, role FROM llm_calls WHERE task_id = $1`,
      [submitted.body.id],
    );
    expect(r.rows).toHaveLength(1);
    return r.rows[0]!;
  } finally {
    await agent.stop({ graceMs: 500 });
  }
}

const fast = { retries: 0, backoffBaseMs: 1, backoffMaxMs: 5, timeoutMs: 5_000 };

it("OpenAI-compatible, streamed: provider usage, configured price, latency and time to first token", async () => {
  const server = await serve(
    lines("text/event-stream", openaiSse(["Hel", "lo", "."], { prompt_tokens: 21, completion_tokens: 3 }), {
      firstDelayMs: 0,
      gapMs: 60,
    }),
  );
  const row = await recordOne({ provider: "openai", baseUrl: server.url, model: "gpt-test", ...fast }, true);
  expect(row).toMatchObject({
    provider: "openai",
    model: "gpt-test-0613", // the model that answered
    source: "openai",
    input_tokens: 21,
    output_tokens: 3,
    tokens_counted: false,
    priced: true,
    status: "ok",
    error_type: null,
    role: "e2e",
  });
  expect(Number(row.cost)).toBe((21 * 2.5 + 3 * 10) / 1e6);
  // Chunks come 60 ms apart: the first text arrives after one gap, the answer after several.
  expect(row.ttft_ms).toBeGreaterThanOrEqual(55);
  expect(row.latency_ms).toBeGreaterThanOrEqual(row.ttft_ms! + 100);
});

it("OpenAI-compatible, whole answer without usage: tokens counted and marked so; no time to first token", async () => {
  const server = await serve(json(200, openaiCompletion("Hello there.")));
  const row = await recordOne({ provider: "openai", baseUrl: server.url, model: "gpt-test", ...fast }, false);
  expect(row).toMatchObject({ tokens_counted: true, ttft_ms: null, status: "ok", model: "gpt-test-0613" });
  expect(row.input_tokens).toBeGreaterThan(0);
  expect(Number(row.cost)).toBe((row.input_tokens * 2.5 + row.output_tokens * 10) / 1e6);
});

it("Ollama, streamed NDJSON: counts from the done line, price from config over the self-hosted default", async () => {
  const server = await serve(
    lines("application/x-ndjson", ollamaNdjson(["Hi", " there"]), { firstDelayMs: 50, gapMs: 40 }),
  );
  const row = await recordOne(
    { provider: "ollama", baseUrl: server.url, model: "llama-test", ...fast },
    true,
  );
  expect(row).toMatchObject({
    provider: "ollama",
    source: "ollama",
    model: "llama-test",
    input_tokens: 26,
    output_tokens: 3,
    tokens_counted: false,
    priced: true,
    status: "ok",
  });
  expect(Number(row.cost)).toBe((26 * 1 + 3 * 2) / 1e6);
  expect(row.ttft_ms).toBeGreaterThanOrEqual(45);
  expect(row.latency_ms).toBeGreaterThanOrEqual(row.ttft_ms! + 30);
});

it("a stream that stalls past the timeout is recorded as a timeout with the time it took", async () => {
  const server = await serve(lines("text/event-stream", openaiSse(["a", "b"]), { stallAt: 1 }));
  const row = await recordOne(
    { provider: "openai", baseUrl: server.url, model: "gpt-test", ...fast, timeoutMs: 300 },
    true,
  );
  expect(row).toMatchObject({ status: "error", error_type: "timeout", input_tokens: 0, output_tokens: 0 });
  expect(row.latency_ms).toBeGreaterThanOrEqual(290);
  expect(Number(row.cost)).toBe(0);
});

it("with fallback on, a 500 is answered offline and recorded so: provider openai, source offline, free", async () => {
  const server = await serve(json(500, { error: { message: "boom" } }));
  const row = await recordOne(
    { provider: "openai", baseUrl: server.url, model: "gpt-test", ...fast, fallbackToOffline: true },
    false,
  );
  expect(row).toMatchObject({
    provider: "openai",
    source: "offline",
    model: "offline",
    status: "ok",
    priced: true,
  });
  expect(Number(row.cost)).toBe(0);
  expect(server.hits).toHaveLength(1);
});

it("without fallback, an unreachable provider is recorded as unreachable", async () => {
  const row = await recordOne(
    { provider: "openai", baseUrl: "http://127.0.0.1:9", model: "gpt-test", ...fast },
    false,
  );
  expect(row).toMatchObject({ status: "error", error_type: "unreachable", model: "gpt-test" });
});
