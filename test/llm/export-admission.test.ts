import { beforeAll, describe, expect, it } from "vitest";
import { seedLlmCalls } from "../helpers/seed-llm-calls.ts";
import { suiteDaemon } from "../helpers/suite-daemon.ts";
import { TOKENS } from "../helpers/test-env.ts";

/**
 * Exports are heavy reads: admitted per token and in total (here 1 and 2), refused past either with
 * 429 and Retry-After at once, and a slot comes back when its export's client goes. Meanwhile the
 * agent path's pool is untouched: /readyz stays 200 and a submit is accepted.
 */
const suite = suiteDaemon({ OVERSEER_REPORT_MAX_PER_TOKEN: "1", OVERSEER_REPORT_MAX_TOTAL: "2" });
// About 20 MB of export: far more than socket buffers hold, so an export whose client stops
// reading stays open (the body is back-pressured, page by page).
beforeAll(() => seedLlmCalls(suite.db, 20000));
const WINDOW = "from=2001-01-01T00:00:00Z&to=2001-01-02T00:00:00Z";

/** Opens an export and reads its first chunk, then stops reading (the export stays open). */
async function hold(token: string) {
  const abort = new AbortController();
  const res = await fetch(`${suite.d.url}/api/llm/export?${WINDOW}`, {
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
    expect((await suite.d.api("GET", "/readyz", { token: null })).status).toBe(200);
    expect(
      (await suite.d.api("POST", "/api/tasks", { body: { type: "admission.t", payload: {} } })).status,
    ).toBe(202);

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
