// ctx.llm records every LLM call a handler makes, and the agent's recorder delivers the records to
// the real daemon exactly once: through outages, lost answers and stop().
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../sdk/agent.ts";
import type { AgentOptions } from "../../sdk/agent-types.ts";
import { HttpClient } from "../../sdk/http-client.ts";
import { CallRecorder, type LlmCallEntry } from "../../sdk/llm/call-recorder.ts";
import { LlmClient } from "../../sdk/llm/llm-client.ts";
import { taskLlm } from "../../sdk/llm/task-llm.ts";
import { systemClock } from "../../sdk/runtime.ts";
import type { TaskContext } from "../../sdk/task-run.ts";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { TOKENS } from "../helpers/test-env.ts";
import { memoryLogger } from "./helpers.ts";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const offline = () => new LlmClient({ provider: "offline", model: "offline" });

let d: TestDaemon;
let db: pg.Client;
const agents: Agent[] = [];

beforeAll(async () => {
  d = await startTestDaemon();
  db = await namespaceDb(d.namespace);
});
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop({ graceMs: 0 })));
});
afterAll(async () => {
  await db?.end();
  await d?.close();
});

/** What the fetch in front of `POST /api/llm/calls` does: pass, fail like a dead daemon, or deliver and lose the answer. */
interface Gate {
  down: boolean;
  loseAnswers: number;
  attempts: number;
}

function gatedFetch(gate: Gate): typeof fetch {
  return async (input, init) => {
    if (!String(input).endsWith("/api/llm/calls")) return fetch(input, init);
    gate.attempts++;
    if (gate.down) throw new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } });
    const res = await fetch(input, init);
    if (gate.loseAnswers > 0) {
      gate.loseAnswers--;
      await res.text();
      throw new TypeError("fetch failed", { cause: { code: "ECONNRESET" } });
    }
    return res;
  };
}

async function startAgent(
  type: string,
  handler: (ctx: TaskContext) => Promise<unknown>,
  opts: Partial<AgentOptions> = {},
): Promise<Agent> {
  const agent = new Agent({
    url: d.url,
    agentSecret: TOKENS.agentSecret,
    name: `${type}-agent`,
    role: "worker",
    handlers: { [type]: handler },
    claimWaitMs: 500,
    logger: quiet,
    llm: offline(),
    llmRecording: { flushMs: 100 },
    ...opts,
  });
  agents.push(agent);
  await agent.start();
  return agent;
}

/** Submits a task and resolves with its id once the agent completed it. */
async function runTask(agent: Agent, type: string, payload: unknown = {}): Promise<string> {
  const done = new Promise<string>((resolve, reject) => {
    agent.on("task:completed", (info) => resolve(info.taskId));
    agent.on("task:failed", (info) => reject(new Error(info.error.message)));
  });
  const submitted = await d.api("POST", "/api/tasks", { body: { type, payload } });
  expect(submitted.status).toBe(202);
  const id = await done;
  expect(id).toBe(submitted.body.id);
  return id;
}

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const rowsOf = async (taskId: string) =>
  (
    await db.query(
      "SELECT id, task_id, provider, model, source, status, prompt, response, input_tokens FROM llm_calls WHERE task_id = $1",
      [taskId],
    )
  ).rows;

const ask = (ctx: TaskContext, n: number) =>
  ctx.llm!.complete({ messages: [{ role: "user", content: `question ${n} of ${ctx.id}` }] });

describe("ctx.llm against the real daemon", () => {
  it("records every call a handler makes with its task id", async () => {
    const agent = await startAgent("rec.three", async (ctx) => {
      for (let i = 1; i <= 3; i++) await ask(ctx, i);
      return { ok: true };
    });
    const taskId = await runTask(agent, "rec.three");
    await until("delivery", () => agent.llmCalls!.stats().sent === 3);
    const rows = await rowsOf(taskId);
    expect(rows.every((r) => r.status === "ok" && r.provider === "offline" && r.source === "offline")).toBe(
      true,
    );
    // Content is off by default.
    expect(rows.every((r) => r.prompt === null && r.response === null)).toBe(true);
    expect(agent.llmCalls!.stats()).toMatchObject({ buffered: 0, sent: 3, duplicates: 0, dropped: 0 });
  });

  it("keeps records through an outage and a lost answer: delivered once each, none lost", async () => {
    const gate: Gate = { down: true, loseAnswers: 0, attempts: 0 };
    const agent = await startAgent(
      "rec.outage",
      async (ctx) => {
        for (let i = 1; i <= 4; i++) await ask(ctx, i);
      },
      { fetch: gatedFetch(gate), recordLlmContent: true, retry: { baseDelayMs: 20, maxDelayMs: 50 } },
    );
    const taskId = await runTask(agent, "rec.outage");
    await until("a few failed flushes", () => agent.llmCalls!.stats().sendErrors >= 2);
    expect(await rowsOf(taskId)).toHaveLength(0);
    expect(agent.llmCalls!.stats()).toMatchObject({ buffered: 4, sent: 0, dropped: 0 });

    // Back up, but the first answer is lost after the daemon stored the batch: the resend is a duplicate.
    gate.down = false;
    gate.loseAnswers = 1;
    await until("delivery", () => agent.llmCalls!.stats().buffered === 0);
    const rows = await rowsOf(taskId);
    expect(rows).toHaveLength(4);
    expect(new Set(rows.map((r) => r.id)).size).toBe(4);
    expect(agent.llmCalls!.stats()).toMatchObject({ sent: 4, duplicates: 4, dropped: 0, failedBatches: 0 });
    // recordLlmContent: prompt and response are stored.
    expect(rows[0].prompt).toEqual([{ role: "user", content: expect.stringMatching(/^question \d of /) }]);
    expect(rows[0].response).toMatch(/^\[offline simulated reply/);
  });

  it("records content Postgres cannot store as text (NUL, lone surrogates) cleaned, without sinking the batch", async () => {
    const agent = await startAgent(
      "rec.dirty",
      async (ctx) => {
        await ctx.llm!.complete({
          messages: [{ role: "user", content: `a${String.fromCharCode(0)}b\uD800c` }],
        });
        await ask(ctx, 2);
      },
      { recordLlmContent: true },
    );
    const taskId = await runTask(agent, "rec.dirty");
    await until("delivery", () => agent.llmCalls!.stats().sent === 2);
    const rows = await rowsOf(taskId);
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.prompt[0].content)).toContain("ab\uFFFDc");
    expect(agent.llmCalls!.stats()).toMatchObject({ failedBatches: 0, dropped: 0 });
  });

  it("keeps a call's metadata but not its content when the prompt is too large to send", async () => {
    const agent = await startAgent(
      "rec.huge",
      async (ctx) => {
        await ctx.llm!.complete({ messages: [{ role: "user", content: "x".repeat(600_000) }] });
      },
      { recordLlmContent: true },
    );
    const taskId = await runTask(agent, "rec.huge");
    await until("delivery", () => agent.llmCalls!.stats().sent === 1);
    const rows = await rowsOf(taskId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ prompt: null, response: null, status: "ok" });
    expect(rows[0].input_tokens).toBeGreaterThan(100_000);
  });

  it("drops and counts a batch the daemon rejects with 400", async () => {
    const agent = await startAgent("rec.bad", async () => {}, { llmRecording: { flushMs: 60_000 } });
    const bad: LlmCallEntry = {
      provider: "offline",
      model: "offline",
      source: "offline",
      usage: { inputTokens: 1, outputTokens: 1, counted: true },
      latencyMs: 1,
      status: "ok",
      stepId: "NOT A STEP",
    };
    agent.llmCalls!.record(bad);
    expect(await agent.llmCalls!.flush()).toBe(true);
    expect(agent.llmCalls!.stats()).toMatchObject({ buffered: 0, sent: 0, failedBatches: 1, rejected: 1 });
  });

  it("drops only the record a rejection names and delivers the rest of its batch", async () => {
    const logger = memoryLogger();
    const agent = await startAgent("rec.split", async () => {}, {
      logger,
      llmRecording: { flushMs: 60_000 },
    });
    const taskId = await runTask(agent, "rec.split");
    const entry = (n: number, extra: Partial<LlmCallEntry> = {}): LlmCallEntry => ({
      provider: "offline",
      model: "offline",
      source: "offline",
      usage: { inputTokens: n, outputTokens: 1, counted: true },
      latencyMs: 1,
      status: "ok",
      taskId,
      ...extra,
    });
    // Record 2 names a task this agent never held (403); the others are good.
    const ids = [0, 1, 2, 3, 4].map((n) =>
      agent.llmCalls!.record(entry(n, n === 2 ? { taskId: randomUUID() } : {})),
    );
    expect(await agent.llmCalls!.flush()).toBe(true);
    const rows = await rowsOf(taskId);
    expect(rows.map((r) => r.id).sort()).toEqual([ids[0], ids[1], ids[3], ids[4]].sort());
    expect(agent.llmCalls!.stats()).toMatchObject({ buffered: 0, sent: 4, rejected: 1, failedBatches: 0 });
    const logged = logger.entries.filter((e) => e.level === "error");
    expect(logged).toEqual([
      expect.objectContaining({
        obj: expect.objectContaining({
          clientCallId: ids[2],
          status: 403,
          reason: expect.stringContaining("calls[2]"),
        }),
      }),
    ]);

    // Two bad records of different kinds in one batch: a schema error (400) and a foreign task (403).
    const more = [0, 1, 2, 3].map((n) =>
      agent.llmCalls!.record(
        entry(10 + n, n === 0 ? { stepId: "NOT A STEP" } : n === 3 ? { taskId: randomUUID() } : {}),
      ),
    );
    expect(await agent.llmCalls!.flush()).toBe(true);
    const after = (await rowsOf(taskId)).map((r) => r.id);
    expect(after).toHaveLength(6);
    expect(after).toEqual(expect.arrayContaining([more[1], more[2]]));
    expect(agent.llmCalls!.stats()).toMatchObject({ buffered: 0, sent: 6, rejected: 3, failedBatches: 0 });
  });

  it("a task's records reach the daemon before its completion does, without waiting for the loop", async () => {
    const agent = await startAgent(
      "rec.stop",
      async (ctx) => {
        await ask(ctx, 1);
        await ask(ctx, 2);
      },
      { llmRecording: { flushMs: 60_000 } },
    );
    const taskId = await runTask(agent, "rec.stop");
    // Completed means reported, and the report waited for the records.
    expect(await rowsOf(taskId)).toHaveLength(2);
    expect(agent.llmCalls!.stats()).toMatchObject({ buffered: 0, sent: 2 });
    await agent.stop();
  });

  it("stop() flushes what the loop has not sent yet", async () => {
    const agent = await startAgent("rec.stop2", async () => undefined, { llmRecording: { flushMs: 60_000 } });
    const id = agent.llmCalls!.record({
      provider: "offline",
      model: "offline",
      source: "offline",
      usage: { inputTokens: 1, outputTokens: 1, counted: true },
      latencyMs: 1,
      status: "ok",
    });
    expect(agent.llmCalls!.stats().buffered).toBe(1);
    await agent.stop();
    expect(agent.state).toBe("STOPPED");
    expect((await db.query("SELECT 1 FROM llm_calls WHERE id = $1", [id])).rowCount).toBe(1);
    expect(agent.llmCalls!.stats()).toMatchObject({ buffered: 0, sent: 1 });
  });
});

describe("ctx.llm records (unit)", () => {
  const recorded: LlmCallEntry[] = [];
  const recorder = { record: (e: LlmCallEntry) => recorded.push(e) } as unknown as CallRecorder;
  const taskId = randomUUID();
  const runId = randomUUID();
  afterEach(() => {
    recorded.length = 0;
  });

  it("adds run and step from payload.pipeline, content only when asked", async () => {
    const llm = taskLlm({
      client: offline(),
      recorder,
      clock: systemClock,
      taskId,
      payload: { pipeline: { runId, stepId: "draft" } },
      signal: new AbortController().signal,
      recordContent: false,
    });
    await llm.complete({ messages: [{ role: "user", content: "hi" }] });
    expect(recorded).toEqual([
      expect.objectContaining({ taskId, runId, stepId: "draft", status: "ok", provider: "offline" }),
    ]);
    expect(recorded[0]).not.toHaveProperty("prompt");
    expect(recorded[0]).not.toHaveProperty("response");
  });

  it("records a failed call with its error type and rethrows", async () => {
    const client = new LlmClient({
      provider: "openai",
      model: "m",
      baseUrl: "http://127.0.0.1:9",
      retries: 0,
      fetch: async () => new Response("{}", { status: 400 }),
    });
    const llm = taskLlm({
      client,
      recorder,
      clock: systemClock,
      taskId,
      payload: { pipeline: { runId: "not-a-uuid", stepId: "x" } },
      signal: new AbortController().signal,
      recordContent: true,
    });
    await expect(llm.complete({ messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({
      type: "bad_request",
    });
    expect(recorded).toEqual([
      expect.objectContaining({
        taskId,
        status: "error",
        errorType: "bad_request",
        provider: "openai",
        model: "m",
        prompt: [{ role: "user", content: "hi" }],
      }),
    ]);
    expect(recorded[0]).not.toHaveProperty("runId");
  });
});

describe("CallRecorder (unit)", () => {
  const entry = (n: number): LlmCallEntry => ({
    clientCallId: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
    provider: "offline",
    model: "offline",
    source: "offline",
    usage: { inputTokens: n, outputTokens: 0, counted: true },
    latencyMs: 1,
    status: "ok",
  });

  it("drops the oldest when full, batches by count and size, and retries 5xx batches later", async () => {
    const bodies: Array<{ calls: Array<{ clientCallId: string }> }> = [];
    let failNext = 1;
    const http = new HttpClient({
      urls: ["http://daemon"],
      retry: { maxAttempts: 1 },
      fetch: async (_url, init) => {
        bodies.push(JSON.parse(String(init?.body)));
        if (failNext-- > 0) return new Response("{}", { status: 503 });
        return Response.json({ recorded: 2, duplicates: 0 }, { status: 202 });
      },
    });
    const rec = new CallRecorder({
      http,
      token: () => "t",
      maxBuffered: 4,
      maxBatchRecords: 2,
      retry: { maxAttempts: 1 },
    });
    for (let n = 1; n <= 6; n++) rec.record(entry(n));
    expect(rec.stats()).toMatchObject({ buffered: 4, dropped: 2 });
    expect(await rec.flush()).toBe(false); // 503: kept
    expect(rec.stats()).toMatchObject({ buffered: 4, sendErrors: 1, failedBatches: 0 });
    expect(await rec.flush()).toBe(true);
    const ids = bodies.map((b) => b.calls.map((c) => Number(c.clientCallId.slice(-2))));
    expect(ids).toEqual([
      [3, 4],
      [3, 4],
      [5, 6],
    ]);
    expect(rec.stats()).toMatchObject({ buffered: 0, sent: 4, dropped: 2 });
  });

  it("drops one named record and resends the rest; without a usable index, drops the batch", async () => {
    const bodies: string[][] = [];
    /** The error details for a batch holding the bad record at index `i`. */
    let detailsFor: (i: number) => unknown = (i) => ({ index: i });
    const http = new HttpClient({
      urls: ["http://daemon"],
      fetch: async (_url, init) => {
        const ids = (JSON.parse(String(init?.body)).calls as Array<{ clientCallId: string }>).map((c) =>
          c.clientCallId.slice(-1),
        );
        bodies.push(ids);
        // Record 2 is the bad one, wherever it sits in the batch.
        if (ids.includes("2")) {
          return Response.json(
            { error: { code: "OVS_ERR_FORBIDDEN", message: "no", details: detailsFor(ids.indexOf("2")) } },
            { status: 403 },
          );
        }
        return Response.json({ recorded: ids.length, duplicates: 0 }, { status: 202 });
      },
    });
    const rec = new CallRecorder({ http, token: () => "t", maxBatchRecords: 3 });
    for (let n = 1; n <= 4; n++) rec.record(entry(n));
    expect(await rec.flush()).toBe(true);
    expect(bodies).toEqual([
      ["1", "2", "3"],
      ["1", "3", "4"],
    ]);
    expect(rec.stats()).toMatchObject({ buffered: 0, sent: 3, rejected: 1, failedBatches: 0 });

    for (const bad of [undefined, { index: 7 }, { index: "1" }, { index: -1 }, { field: "x" }]) {
      bodies.length = 0;
      detailsFor = () => bad;
      rec.record(entry(1));
      rec.record(entry(2));
      expect(await rec.flush()).toBe(true);
      expect(bodies).toEqual([["1", "2"]]);
    }
    expect(rec.stats()).toMatchObject({ buffered: 0, sent: 3, rejected: 11, failedBatches: 5 });
  });

  it("pauses without a token and splits batches by size", async () => {
    const sizes: number[] = [];
    let token: string | undefined;
    const http = new HttpClient({
      urls: ["http://daemon"],
      fetch: async (_url, init) => {
        sizes.push(JSON.parse(String(init?.body)).calls.length);
        return Response.json({ recorded: 1, duplicates: 0 }, { status: 202 });
      },
    });
    const rec = new CallRecorder({ http, token: () => token, maxBatchBytes: 400 });
    for (let n = 1; n <= 3; n++) rec.record(entry(n));
    expect(await rec.flush()).toBe(false);
    expect(sizes).toEqual([]);
    token = "t";
    expect(await rec.flush()).toBe(true);
    expect(sizes.length).toBeGreaterThan(1);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(3);
  });
});
