import { randomUUID } from "node:crypto";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestAgent, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";

// USD per million tokens; the costs below are computed by hand from these.
const PRICING = { "test-gpt": { inputPerMTok: 2.5, outputPerMTok: 10 } };

let d: TestDaemon;
let db: pg.Client;
let writer: TestAgent;
let other: TestAgent;
let writerTask: string;
let otherTask: string;

const post = (body: unknown, token?: string) => d.api("POST", "/api/llm/calls", { token, body });

const call = (over: Record<string, unknown> = {}) => ({
  clientCallId: randomUUID(),
  provider: "openai",
  model: "test-gpt",
  source: "openai",
  usage: { inputTokens: 1200, outputTokens: 300, counted: false },
  latencyMs: 850,
  timeToFirstTokenMs: 120,
  status: "ok",
  ...over,
});

const count = async () => Number((await db.query("SELECT count(*)::int AS n FROM llm_calls")).rows[0].n);

/** The value of one series in Prometheus text, or undefined. */
const series = (text: string, name: string, labels: string): number | undefined => {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.split(" ")[1]);
};

async function claimOne(agent: TestAgent, type: string): Promise<{ id: string; leaseToken: string }> {
  const submitted = await d.api("POST", "/api/tasks", { body: { type, payload: {} } });
  expect(submitted.status).toBe(202);
  const claimed = await d.api("POST", `/api/agents/${agent.id}/claim`, {
    token: agent.token,
    body: { max: 1, waitMs: 2000 },
  });
  expect(claimed.body.tasks?.[0]?.id).toBe(submitted.body.id);
  return claimed.body.tasks[0];
}

beforeAll(async () => {
  d = await startTestDaemon({ OVERSEER_LLM_PRICING: JSON.stringify(PRICING) });
  db = await namespaceDb(d.namespace);
  writer = await d.registerAgent("writer-1", ["llm.write"], { role: "writer" });
  other = await d.registerAgent("other-1", ["llm.other"], { role: "reviewer" });
  writerTask = (await claimOne(writer, "llm.write")).id;
  otherTask = (await claimOne(other, "llm.other")).id;
});
afterAll(async () => {
  await db?.end();
  await d?.close();
});

describe("POST /api/llm/calls", () => {
  it("records an agent's calls for a task it holds, with the configured price, and counts them in metrics", async () => {
    const a = call({ taskId: writerTask, prompt: [{ role: "user", content: "hi" }], response: "hello" });
    const b = call({
      taskId: writerTask,
      usage: { inputTokens: 1_000_000, outputTokens: 50_000, counted: true },
      latencyMs: 2_000,
      timeToFirstTokenMs: null,
    });
    const e = call({
      taskId: writerTask,
      status: "error",
      errorType: "rate_limited",
      usage: { inputTokens: 0, outputTokens: 0, counted: false },
    });
    const r = await post({ calls: [a, b, e] }, writer.token);
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ recorded: 3, duplicates: 0 });

    const rows = (
      await db.query(
        "SELECT id, agent_id, role, task_id, model, input_tokens, output_tokens, tokens_counted, cost_usd::text, priced, latency_ms, ttft_ms, status, error_type, prompt, response FROM llm_calls ORDER BY latency_ms, status",
      )
    ).rows;
    const byId = new Map(rows.map((row) => [row.id, row]));
    // 1200 × 2.5 / 1e6 + 300 × 10 / 1e6 = 0.003 + 0.003
    expect(byId.get(a.clientCallId)).toMatchObject({
      agent_id: writer.id,
      role: "writer",
      task_id: writerTask,
      model: "test-gpt",
      input_tokens: 1200,
      output_tokens: 300,
      tokens_counted: false,
      cost_usd: "0.00600000",
      priced: true,
      latency_ms: 850,
      ttft_ms: 120,
      status: "ok",
      error_type: null,
      prompt: [{ role: "user", content: "hi" }],
      response: "hello",
    });
    // 1e6 × 2.5 / 1e6 + 50 000 × 10 / 1e6 = 2.5 + 0.5
    expect(byId.get(b.clientCallId)).toMatchObject({ cost_usd: "3.00000000", ttft_ms: null, prompt: null });
    expect(byId.get(e.clientCallId)).toMatchObject({
      cost_usd: "0.00000000",
      status: "error",
      error_type: "rate_limited",
    });

    const metrics = (await d.api("GET", "/metrics", { token: null })).text;
    const m = 'model="test-gpt",role="writer"';
    expect(series(metrics, "overseer_llm_tokens_total", `${m},type="input"`)).toBe(1_001_200);
    expect(series(metrics, "overseer_llm_tokens_total", `${m},type="output"`)).toBe(50_300);
    expect(series(metrics, "overseer_llm_cost_usd_total", m)).toBeCloseTo(3.006, 9);
    expect(series(metrics, "overseer_llm_call_duration_seconds_count", 'model="test-gpt"')).toBe(3);
    expect(series(metrics, "overseer_llm_call_duration_seconds_sum", 'model="test-gpt"')).toBeCloseTo(3.7, 9);
    // Only the two streamed calls have a time to first token.
    expect(series(metrics, "overseer_llm_time_to_first_token_seconds_count", 'model="test-gpt"')).toBe(2);
    expect(series(metrics, "overseer_llm_errors_total", 'model="test-gpt",error_type="rate_limited"')).toBe(
      1,
    );
    // No run, agent or task ids as labels (per-agent heartbeat series exist elsewhere).
    const llmLines = metrics.split("\n").filter((l) => l.startsWith("overseer_llm_"));
    expect(llmLines.length).toBeGreaterThan(0);
    expect(llmLines.filter((l) => l.includes(writer.id) || l.includes(writerTask))).toEqual([]);

    // The same batch again (a retry after a lost answer): all duplicates, nothing new, metrics unchanged.
    const again = await post({ calls: [a, b, e] }, writer.token);
    expect(again.status).toBe(202);
    expect(again.body).toEqual({ recorded: 0, duplicates: 3 });
    const after = (await d.api("GET", "/metrics", { token: null })).text;
    expect(series(after, "overseer_llm_tokens_total", `${m},type="input"`)).toBe(1_001_200);
    expect(series(after, "overseer_llm_call_duration_seconds_count", 'model="test-gpt"')).toBe(3);

    // A partly new batch, with a repeat inside it: only the new call is recorded.
    const c = call({ taskId: writerTask });
    const mixed = await post({ calls: [a, c, c] }, writer.token);
    expect(mixed.body).toEqual({ recorded: 1, duplicates: 2 });
  });

  it("records a call made outside any task, and prices unknown models at 0 (priced false)", async () => {
    const u = call({
      model: "mystery-model",
      usage: { inputTokens: 5000, outputTokens: 5000, counted: false },
    });
    const o = call({ provider: "ollama", source: "ollama", model: "llama3.1:8b" });
    const f = call({ provider: "openai", source: "offline", model: "offline" });
    const r = await post({ calls: [u, o, f] }, writer.token);
    expect(r.status).toBe(202);
    const rows = (
      await db.query("SELECT id, cost_usd::text, priced, task_id FROM llm_calls WHERE id = ANY($1)", [
        [u.clientCallId, o.clientCallId, f.clientCallId],
      ])
    ).rows;
    const byId = new Map(rows.map((row) => [row.id, row]));
    expect(byId.get(u.clientCallId)).toMatchObject({ cost_usd: "0.00000000", priced: false, task_id: null });
    // Self-hosted: free, and known to be free.
    expect(byId.get(o.clientCallId)).toMatchObject({ cost_usd: "0.00000000", priced: true });
    expect(byId.get(f.clientCallId)).toMatchObject({ cost_usd: "0.00000000", priced: true });
  });

  it("lets an operator record for a named agent, and requires the name", async () => {
    const x = call({ taskId: otherTask });
    const r = await post({ agentId: other.id, calls: [x] });
    expect(r.status).toBe(202);
    const row = (await db.query("SELECT agent_id, role FROM llm_calls WHERE id = $1", [x.clientCallId]))
      .rows[0];
    expect(row).toEqual({ agent_id: other.id, role: "reviewer" });

    const missing = await post({ calls: [call()] });
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe("OVS_ERR_VALIDATION");
    const unknown = await post({ agentId: randomUUID(), calls: [call()] });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("OVS_ERR_AGENT_NOT_FOUND");
    expect(
      (
        await d.api("POST", "/api/llm/calls", {
          token: "test-viewer-token-0123456789",
          body: { calls: [call()] },
        })
      ).status,
    ).toBe(403);
  });

  it("refuses (403) a call attached to another agent's task, a run without a task, or another agent's id; writes nothing", async () => {
    const before = await count();
    const mine = call({ taskId: writerTask });
    const theirs = call({ taskId: otherTask });
    const r = await post({ calls: [mine, theirs] }, writer.token);
    expect(r.status).toBe(403);
    expect(r.body.error).toMatchObject({ code: "OVS_ERR_FORBIDDEN", details: { index: 1 } });

    const noTask = await post({ calls: [call({ runId: randomUUID() })] }, writer.token);
    expect(noTask.status).toBe(403);
    const notATask = await post({ calls: [call({ taskId: randomUUID() })] }, writer.token);
    expect(notATask.status).toBe(403);
    const impersonate = await post({ agentId: other.id, calls: [call()] }, writer.token);
    expect(impersonate.status).toBe(403);
    expect(await count()).toBe(before);
  });

  it("rejects bad records (400, naming the first bad index) and writes nothing", async () => {
    const before = await count();
    const cases: Array<{ calls: unknown[]; index?: number }> = [
      {
        calls: [call(), call({ usage: { inputTokens: -1, outputTokens: 0, counted: false } })],
        index: 1,
      },
      { calls: [call(), call(), call({ status: "maybe" })], index: 2 },
      { calls: [call({ clientCallId: "not-a-uuid" }), call()], index: 0 },
      { calls: [call(), call({ taskId: "123" })], index: 1 },
      { calls: [call(), call({ status: "ok", errorType: "timeout" })], index: 1 },
      { calls: [call({ stepId: "draft" })], index: 0 },
      { calls: [call(), call({ surprise: true })], index: 1 },
      { calls: Array.from({ length: 1001 }, () => call()) },
      { calls: [] },
    ];
    for (const c of cases) {
      const r = await post({ calls: c.calls }, writer.token);
      expect(r.status, JSON.stringify(c.calls[c.index ?? 0])).toBe(400);
      expect(r.body.error.code).toBe("OVS_ERR_VALIDATION");
      if (c.index !== undefined) expect(r.body.error.details?.index).toBe(c.index);
    }
    expect(await count()).toBe(before);
  });

  it("accepts 1000 records in one batch", async () => {
    const before = await count();
    const calls = Array.from({ length: 1000 }, () =>
      call({ taskId: writerTask, usage: { inputTokens: 1, outputTokens: 1, counted: true } }),
    );
    const r = await post({ calls }, writer.token);
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ recorded: 1000, duplicates: 0 });
    expect(await count()).toBe(before + 1000);
  });

  it("still accepts calls for a task the agent held, after it completed it (a late batch)", async () => {
    const held = await claimOne(writer, "llm.write");
    const done = await d.api("POST", `/api/tasks/${held.id}/complete`, {
      token: writer.token,
      body: { leaseToken: held.leaseToken, result: {} },
    });
    expect(done.status).toBe(200);
    const r = await post({ calls: [call({ taskId: held.id })] }, writer.token);
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ recorded: 1, duplicates: 0 });
    // The other agent never held it.
    expect((await post({ calls: [call({ taskId: held.id })] }, other.token)).status).toBe(403);
  });
});
