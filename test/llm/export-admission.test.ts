import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { TOKENS } from "../helpers/test-env.ts";

/**
 * Exports are heavy reads: admitted per token and in total (here 1 and 2), refused past either with
 * 429 and Retry-After at once, and a slot comes back when its export's client goes. Meanwhile the
 * agent path's pool is untouched: /readyz stays 200 and a submit is accepted.
 */
let d: TestDaemon;
let db: pg.Client;
const WINDOW = "from=2001-01-01T00:00:00Z&to=2001-01-02T00:00:00Z";

beforeAll(async () => {
  d = await startTestDaemon({ OVERSEER_REPORT_MAX_PER_TOKEN: "1", OVERSEER_REPORT_MAX_TOTAL: "2" });
  db = await namespaceDb(d.namespace);
  // About 20 MB of export: far more than socket buffers hold, so an export whose client stops
  // reading stays open (the body is back-pressured, page by page).
  await db.query(
    `INSERT INTO llm_calls (id, at, agent_id, role, provider, model, source, input_tokens, output_tokens,
       tokens_counted, cost_usd, priced, latency_ms, ttft_ms, status, prompt, response)
     SELECT gen_random_uuid(), timestamptz '2001-01-01T00:00:00Z' + i * interval '1 ms', gen_random_uuid(),
       'bulk', 'openai', 'gpt-bulk', 'openai', 100, 50, false, 0, true, 10, NULL, 'ok',
       jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'question ' || i)), repeat('answer ', 150) || i
     FROM generate_series(1, 20000) AS i`,
  );
});
afterAll(async () => {
  await db?.end();
  await d?.close();
});

/** Opens an export and reads its first chunk, then stops reading (the export stays open). */
async function hold(token: string) {
  const abort = new AbortController();
  const res = await fetch(`${d.url}/api/llm/export?${WINDOW}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: abort.signal,
  });
  if (res.status === 200) await res.body?.getReader().read();
  const text = res.status === 200 ? "" : await res.text();
  return { status: res.status, retryAfter: res.headers.get("retry-after"), text, close: () => abort.abort() };
}

describe("heavy-read admission", () => {
  it("refuses past the per-token and total limits with 429 and Retry-After, and frees a slot when a client goes", async () => {
    const first = await hold(TOKENS.operator);
    expect(first.status).toBe(200);

    const again = await hold(TOKENS.operator);
    expect(again.status).toBe(429);
    expect(again.retryAfter).toBe("5");
    expect(JSON.parse(again.text).error.code).toBe("OVS_ERR_TOO_MANY_HEAVY_READS");

    const other = await hold(TOKENS.admin);
    expect(other.status).toBe(200);
    // Two running in all: the total is reached for every token.
    const third = await hold(TOKENS.admin);
    expect(third.status).toBe(429);

    // The agent path is not behind them.
    expect((await d.api("GET", "/readyz", { token: null })).status).toBe(200);
    expect((await d.api("POST", "/api/tasks", { body: { type: "admission.t", payload: {} } })).status).toBe(
      202,
    );

    first.close();
    let after = await hold(TOKENS.operator);
    for (let i = 0; i < 50 && after.status === 429; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = await hold(TOKENS.operator);
    }
    expect(after.status).toBe(200);
    after.close();
    other.close();
  });
});
