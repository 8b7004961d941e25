import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { resolveExportQuery, TrainingExport } from "../../daemon/llm/training-export.ts";
import { schemaFor } from "../../daemon/store/migrate.ts";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { DATABASE_URL, TOKENS } from "../helpers/test-env.ts";

let d: TestDaemon;
let db: pg.Client;

// The known data set lives on 2025-01-01; the streaming smoke in 2001, so windows keep them apart.
const DAY1 = "from=2025-01-01T00:00:00Z&to=2025-01-02T00:00:00Z";
const at = (minute: number) => new Date(Date.UTC(2025, 0, 1, 0, minute)).toISOString();

/** GET as text (the export is not one JSON document in every format), operator by default. */
async function get(query: string, token: string | null = TOKENS.operator) {
  const res = await fetch(`${d.url}/api/llm/export${query ? `?${query}` : ""}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}
const jsonl = (text: string) =>
  text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));
const ids = async (query: string) => jsonl((await get(`${DAY1}&${query}`)).text).map((r) => r.id);

/** An RFC 4180 parser: quoted cells may hold commas, quotes ("") and line breaks. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      records.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += ch;
  }
  if (cell !== "" || row.length > 0) throw new Error("CSV does not end with CRLF");
  return records;
}

interface Call {
  id?: string;
  minute: number;
  role?: string;
  model?: string;
  status?: "ok" | "error";
  errorType?: string | null;
  run?: string | null;
  step?: string | null;
  prompt?: unknown;
  response?: string | null;
}
async function insertCall(c: Call): Promise<string> {
  const id = c.id ?? randomUUID();
  await db.query(
    `INSERT INTO llm_calls (id, at, agent_id, role, task_id, run_id, step_id, conversation_id, provider, model,
       source, input_tokens, output_tokens, tokens_counted, cost_usd, priced, latency_ms, ttft_ms, status,
       error_type, prompt, response)
     VALUES ($1, $2, $3, $4, NULL, $5, $6, NULL, 'openai', $7, 'openai', 120, 30, false, 0.00123456, true,
       800, 90, $8, $9, $10, $11)`,
    [
      id,
      at(c.minute),
      randomUUID(),
      c.role ?? "writer",
      c.run ?? null,
      c.step ?? null,
      c.model ?? "gpt-a",
      c.status ?? "ok",
      c.errorType ?? null,
      c.prompt === undefined
        ? JSON.stringify([{ role: "user", content: `q${c.minute}` }])
        : JSON.stringify(c.prompt),
      c.response === undefined ? `a${c.minute}` : c.response,
    ],
  );
  return id;
}
const feedback = (
  kind: "run" | "step" | "llm_call",
  score: number,
  t: { run?: string; step?: string; call?: string },
) =>
  db.query(
    `INSERT INTO feedback (id, target_kind, run_id, step_id, call_id, score, author)
     VALUES ($1, $2, $3, $4, $5, $6, 'test')`,
    [randomUUID(), kind, t.run ?? null, t.step ?? null, t.call ?? null, score],
  );

beforeAll(async () => {
  d = await startTestDaemon();
  db = await namespaceDb(d.namespace);
});
afterAll(async () => {
  await db?.end();
  await d?.close();
});

describe("an empty system", () => {
  it("answers an empty body, [] or the CSV header alone, never samples", async () => {
    const l = await get("");
    expect(l.status).toBe(200);
    expect(l.text).toBe("");
    expect(l.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
    expect(l.headers.get("content-disposition")).toMatch(
      /^attachment; filename="llm-calls-\d{8}T\d{6}Z\.jsonl"$/,
    );
    const j = await get("format=json");
    expect(j.headers.get("content-type")).toMatch(/^application\/json/);
    expect(JSON.parse(j.text)).toEqual([]);
    const c = await get("format=csv");
    expect(c.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(parseCsv(c.text)).toHaveLength(1);
    expect(parseCsv(c.text)[0]).toContain("prompt");
  });
});

describe("a known data set", () => {
  const run1 = randomUUID();
  const run2 = randomUUID();
  const c: Record<string, string> = {};
  const tricky = [
    { role: "system", content: 'You are "helpful", terse,\nand exact.' },
    { role: "user", content: "Line one\r\nline two, with a comma; key sk-abcdefghij0123456789klmnop" },
  ];

  beforeAll(async () => {
    // c1: its own ratings (4, 5) win over its step's (1) and run's (2).
    c.c1 = await insertCall({
      minute: 1,
      run: run1,
      step: "draft",
      prompt: tricky,
      response: 'He said "ok", then\nleft.',
    });
    // c2: no own rating: its step's (3).
    c.c2 = await insertCall({ minute: 2, run: run1, step: "draft", role: "reviewer", model: "gpt-b" });
    // c3: a step without ratings: the run's (2).
    c.c3 = await insertCall({
      minute: 3,
      run: run1,
      step: "review",
      status: "error",
      errorType: "timeout",
      response: null,
    });
    // c4: no run: unrated. Secrets in prompt and response.
    c.c4 = await insertCall({
      minute: 4,
      prompt: [{ role: "user", content: "mail ops@example.com with Authorization: Bearer abc123def456ghi" }],
      response: "use AKIAIOSFODNN7EXAMPLE and ghp_1234567890abcdefghijklmnopqrstuvwxyzAB",
    });
    // c5: another run rated only at the run level (5), no step.
    c.c5 = await insertCall({ minute: 5, run: run2, model: "gpt-b", prompt: null });
    // Outside the window: not exported with DAY1.
    c.out = await insertCall({ minute: 24 * 60 + 1 });
    await feedback("llm_call", 4, { call: c.c1 });
    await feedback("llm_call", 5, { call: c.c1 });
    await feedback("step", 1, { run: run1, step: "draft" });
    await feedback("step", 5, { run: run1, step: "draft" });
    await feedback("step", 3, { run: run2, step: "draft" }); // another run's step of the same name
    await feedback("run", 2, { run: run1 });
    await feedback("run", 5, { run: run2 });
  });

  it("JSONL: one object per line in (at, id) order, with metadata and the pair", async () => {
    const r = await get(DAY1);
    expect(r.status).toBe(200);
    expect(r.text.endsWith("\n")).toBe(true);
    const rows = jsonl(r.text);
    expect(rows.map((x) => x.id)).toEqual([c.c1, c.c2, c.c3, c.c4, c.c5]);
    expect(rows[0]).toMatchObject({
      at: at(1),
      role: "writer",
      provider: "openai",
      model: "gpt-a",
      source: "openai",
      status: "ok",
      errorType: null,
      inputTokens: 120,
      outputTokens: 30,
      tokensCounted: false,
      costUsd: 0.00123456,
      priced: true,
      latencyMs: 800,
      ttftMs: 90,
      taskId: null,
      runId: run1,
      stepId: "draft",
      conversationId: null,
      feedbackScore: 4.5,
      response: 'He said "ok", then\nleft.',
    });
    expect(rows[0].prompt[0]).toEqual(tricky[0]);
    expect(rows[2]).toMatchObject({ status: "error", errorType: "timeout", response: null });
    expect(rows[4].prompt).toBeNull();
  });

  it("feedback score falls back from the call to its step to its run, else null", async () => {
    const rows = jsonl((await get(DAY1)).text);
    expect(rows.map((x) => x.feedbackScore)).toEqual([4.5, 3, 2, null, 5]);
  });

  it("JSON and CSV carry the same rows as JSONL", async () => {
    const lines = jsonl((await get(DAY1)).text);
    const json = await get(`${DAY1}&format=json`);
    expect(JSON.parse(json.text)).toEqual(lines);

    const csv = parseCsv((await get(`${DAY1}&format=csv`)).text);
    const [header, ...records] = csv as [string[], ...string[][]];
    expect(records).toHaveLength(lines.length);
    const first = Object.fromEntries(header.map((h, i) => [h, records[0]?.[i]]));
    expect(first.id).toBe(c.c1);
    expect(first.response).toBe('He said "ok", then\nleft.');
    expect(first.costUsd).toBe("0.00123456");
    expect(first.feedbackScore).toBe("4.5");
    expect(first.taskId).toBe("");
    expect(JSON.parse(first.prompt as string)).toEqual(lines[0].prompt);
    expect(JSON.parse(first.prompt as string)[1].content).toContain("Line one\r\nline two, with a comma");
    // Every record has every column, whatever its content.
    for (const rec of records) expect(rec).toHaveLength(header.length);
  });

  it("redacts secrets by default, and not with redact=false", async () => {
    const redacted = jsonl((await get(DAY1)).text);
    expect(redacted[0].prompt[1].content).toContain("key [REDACTED_API_KEY]");
    expect(redacted[3].prompt[0].content).toBe("mail [REDACTED_EMAIL] with Authorization: [REDACTED_TOKEN]");
    expect(redacted[3].response).toBe("use [REDACTED_API_KEY] and [REDACTED_API_KEY]");
    // Ordinary content is untouched.
    expect(redacted[1].prompt).toEqual([{ role: "user", content: "q2" }]);

    const raw = jsonl((await get(`${DAY1}&redact=false`)).text);
    expect(raw[3].prompt[0].content).toBe("mail ops@example.com with Authorization: Bearer abc123def456ghi");
    expect(raw[3].response).toContain("AKIAIOSFODNN7EXAMPLE");
    expect(raw[0].prompt).toEqual(tricky);
    // Redaction also applies to CSV and JSON.
    expect((await get(`${DAY1}&format=csv`)).text).not.toContain("ops@example.com");
    expect((await get(`${DAY1}&format=json`)).text).not.toContain("AKIAIOSFODNN7EXAMPLE");
  });

  it("filters by time (from inclusive, to exclusive), role, model, status, minScore and limit", async () => {
    expect(jsonl((await get(`from=${at(2)}&to=${at(4)}`)).text).map((r) => r.id)).toEqual([c.c2, c.c3]);
    expect(jsonl((await get(`from=${at(5)}`)).text).map((r) => r.id)).toEqual([c.c5, c.out]);
    expect(jsonl((await get(`to=${at(2)}`)).text).map((r) => r.id)).toEqual([c.c1]);
    expect(await ids("role=reviewer")).toEqual([c.c2]);
    expect(await ids("model=gpt-b")).toEqual([c.c2, c.c5]);
    expect(await ids("status=error")).toEqual([c.c3]);
    expect(await ids("status=ok&model=gpt-a")).toEqual([c.c1, c.c4]);
    expect(await ids("minScore=3")).toEqual([c.c1, c.c2, c.c5]);
    expect(await ids("minScore=4.5")).toEqual([c.c1, c.c5]);
    expect(await ids("minScore=1")).toEqual([c.c1, c.c2, c.c3, c.c5]); // unrated c4 is left out
    expect(await ids("limit=2")).toEqual([c.c1, c.c2]);
    expect(await ids("role=nobody")).toEqual([]);
    expect(JSON.parse((await get(`${DAY1}&format=json&role=nobody`)).text)).toEqual([]);
  });

  it("answers 400 OVS_ERR_VALIDATION with a clear message for bad filters", async () => {
    const cases: Array<[string, RegExp]> = [
      ["format=xml", /format must be one of jsonl, json, csv/],
      ["from=yesterday", /from must be an ISO 8601 date-time/],
      ["to=2025-13-45T00:00:00Z", /to must be an ISO 8601 date-time/],
      ["to=2025-01-01T00:00:00", /to must be an ISO 8601 date-time with an offset/],
      [`from=${at(5)}&to=${at(5)}`, /from must be before to/],
      [`from=${at(6)}&to=${at(5)}`, /from must be before to/],
      ["minScore=0", /minScore must be a number from 1 to 5/],
      ["minScore=6", /minScore must be a number from 1 to 5/],
      ["minScore=5.5", /minScore must be a number from 1 to 5/],
      ["minScore=abc", /minScore must be a number from 1 to 5/],
      ["status=pending", /status must be one of ok, error/],
      ["redact=no", /redact must be true or false/],
      ["limit=0", /limit must be an integer/],
      ["limit=-5", /limit must be an integer/],
      ["minscore=4", /unknown parameter minscore/],
      ["role=", /role/],
      ["status=ok&status=error", /status must be one of ok, error/],
    ];
    for (const [query, message] of cases) {
      const r = await get(query);
      expect(r.status, query).toBe(400);
      const body = JSON.parse(r.text);
      expect(body.error.code, query).toBe("OVS_ERR_VALIDATION");
      expect(body.error.message, query).toMatch(message);
    }
  });

  it("needs an operator token: viewer 403, none 401, admin allowed", async () => {
    const viewer = await get(DAY1, TOKENS.viewer);
    expect(viewer.status).toBe(403);
    expect(JSON.parse(viewer.text).error.code).toBe("OVS_ERR_FORBIDDEN");
    expect((await get(DAY1, null)).status).toBe(401);
    const agent = await d.registerAgent("export-agent", ["x.y"], { silent: true });
    expect((await get(DAY1, agent.token)).status).toBe(403);
    expect((await get(DAY1, TOKENS.admin)).status).toBe(200);
  });
});

describe("streaming many rows", () => {
  const N = 20_000;
  const WINDOW = "from=2001-01-01T00:00:00Z&to=2001-01-02T00:00:00Z";

  beforeAll(async () => {
    // Timestamps repeat (every 10 rows share one millisecond, with microseconds apart), so the
    // keyset cursor must keep the microseconds and break ties by id.
    await db.query(
      `INSERT INTO llm_calls (id, at, agent_id, role, provider, model, source, input_tokens, output_tokens,
         tokens_counted, cost_usd, priced, latency_ms, ttft_ms, status, prompt, response)
       SELECT gen_random_uuid(),
         timestamptz '2001-01-01T00:00:00Z' + (i / 10) * interval '1 ms' + (i % 3) * interval '1 microsecond',
         gen_random_uuid(), 'bulk', 'openai', 'gpt-bulk', 'openai', 100, 50, false, 0, true, 10, NULL, 'ok',
         jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'question ' || i)),
         repeat('answer ', 150) || i
       FROM generate_series(1, $1) AS i`,
      [N],
    );
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("streams every row once, in (at, id) order", async () => {
    const r = await get(WINDOW);
    expect(r.status).toBe(200);
    const rows = jsonl(r.text);
    expect(rows).toHaveLength(N);
    expect(new Set(rows.map((x) => x.id)).size).toBe(N);
    const expected = await db.query<{ id: string }>(
      `SELECT id FROM llm_calls WHERE at >= '2001-01-01T00:00:00Z' AND at < '2001-01-02T00:00:00Z' ORDER BY at, id`,
    );
    expect(rows.map((x) => x.id)).toEqual(expected.rows.map((x) => x.id));
    const csv = await get(`${WINDOW}&format=csv&limit=2500`);
    expect(parseCsv(csv.text)).toHaveLength(2501);
  });

  it("stops querying when the client goes away", async () => {
    const page = vi.spyOn(TrainingExport.prototype as unknown as { page: () => Promise<unknown> }, "page");
    const abort = new AbortController();
    const res = await fetch(`${d.url}/api/llm/export?${WINDOW}`, {
      headers: { authorization: `Bearer ${TOKENS.operator}` },
      signal: abort.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    abort.abort();
    // Let the server notice the closed socket and settle; far fewer than the 20 pages were read.
    let settled = -1;
    for (let i = 0; i < 50 && settled !== page.mock.calls.length; i++) {
      settled = page.mock.calls.length;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(page.mock.calls.length).toBeGreaterThan(0);
    expect(page.mock.calls.length).toBeLessThan(N / 1000);
  });

  it("a page also ends at its byte cap, and the next page goes on from there", async () => {
    const pool = new pg.Pool({
      connectionString: DATABASE_URL,
      options: `-c search_path=${schemaFor(d.namespace)}`,
    });
    try {
      // Rows carry about 1.1 kB of prompt and response: a 5,000-byte cap allows 5 per page.
      const exporter = new TrainingExport(pool, 100, 5_000);
      const filter = resolveExportQuery({ from: "2001-01-01T00:00:00Z", to: "2001-01-02T00:00:00Z" });
      const seen: string[] = [];
      const sizes: number[] = [];
      for await (const rows of exporter.pages(filter)) {
        sizes.push(rows.length);
        seen.push(...rows.map((r) => r.id));
        if (sizes.length === 4) break;
      }
      expect(sizes).toEqual([5, 5, 5, 5]);
      const expected = await pool.query<{ id: string }>(
        `SELECT id FROM llm_calls WHERE at >= '2001-01-01T00:00:00Z' AND at < '2001-01-02T00:00:00Z'
         ORDER BY at, id LIMIT 20`,
      );
      expect(seen).toEqual(expected.rows.map((r) => r.id));
      // A row larger than the cap still goes, alone.
      const one = new TrainingExport(pool, 100, 10);
      for await (const rows of one.pages(filter)) {
        expect(rows).toHaveLength(1);
        break;
      }
    } finally {
      await pool.end();
    }
  });

  it("pages never hold more than one page ahead, and an abandoned iteration queries no more", async () => {
    const pool = new pg.Pool({
      connectionString: DATABASE_URL,
      options: `-c search_path=${schemaFor(d.namespace)}`,
    });
    try {
      let queries = 0;
      const counting = {
        query: (...args: unknown[]) => {
          queries++;
          return (pool.query as (...a: unknown[]) => unknown)(...args);
        },
      };
      const exporter = new TrainingExport(counting as unknown as pg.Pool, 100);
      const filter = resolveExportQuery({ from: "2001-01-01T00:00:00Z", to: "2001-01-02T00:00:00Z" });
      let pages = 0;
      for await (const rows of exporter.pages(filter)) {
        expect(rows).toHaveLength(100);
        if (++pages === 3) break;
      }
      // Three pages read, one prefetched.
      expect(queries).toBe(4);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(queries).toBe(4);

      queries = 0;
      const abort = new AbortController();
      let seen = 0;
      for await (const rows of exporter.pages(filter, abort.signal)) {
        seen += rows.length;
        abort.abort();
      }
      expect(seen).toBe(100);
      expect(queries).toBeLessThanOrEqual(2);
    } finally {
      await pool.end();
    }
  });
});
