import { beforeAll, describe, expect, it } from "vitest";
import { seedLlmCalls } from "../helpers/seed-llm-calls.ts";
import { suiteDaemon } from "../helpers/suite-daemon.ts";
import { TOKENS } from "../helpers/test-env.ts";
import { type FeedClient, openFeed, upgradeStatus } from "../ws/ws-client.ts";

/**
 * A small version of issue 16's noisy-neighbour run: exports past their limits, one viewer token
 * opening feeds past its cap, and parallel scrapes, all at once, while an agent claims and
 * completes tasks. Behaviour, not speed: the extra callers are refused with 429 (never 5xx), every
 * claim and completion is answered 200, and /readyz never says 503.
 */
const suite = suiteDaemon({
  OVERSEER_REPORT_MAX_PER_TOKEN: "2",
  OVERSEER_REPORT_MAX_TOTAL: "3",
  OVERSEER_WS_MAX_CLIENTS_PER_TOKEN: "10",
  OVERSEER_METRICS_MIN_RENDER_INTERVAL_MS: "200",
});
beforeAll(() => seedLlmCalls(suite.db, 5000));

describe("noisy callers beside the agent path", () => {
  it("refuses the extra exports and feeds with 429, serves the agent and /readyz throughout", async () => {
    const agent = await suite.d.registerAgent("noisy-worker", ["noisy.t"], { concurrency: 10 });
    let stop = false;
    const ready: number[] = [];
    const readiness = (async () => {
      while (!stop) {
        ready.push((await suite.d.api("GET", "/readyz", { token: null })).status);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const scrapes = Array.from({ length: 8 }, async () => {
      const statuses: number[] = [];
      while (!stop) statuses.push((await fetch(`${suite.d.url}/metrics`)).status);
      return statuses;
    });
    const exports = Array.from({ length: 8 }, (_, i) =>
      fetch(`${suite.d.url}/api/llm/export?from=2001-01-01T00:00:00Z&to=2001-01-02T00:00:00Z`, {
        headers: { authorization: `Bearer ${i % 2 === 0 ? TOKENS.operator : TOKENS.admin}` },
      }).then(async (r) => ({ status: r.status, size: (await r.text()).length })),
    );
    const feeds: FeedClient[] = [];
    const refusedFeeds: number[] = [];
    for (let i = 0; i < 14; i++) {
      if (i < 10) feeds.push(await openFeed(suite.d.url, "tasks"));
      else
        refusedFeeds.push(
          (
            await upgradeStatus(suite.d.url, "/api/dashboard/ws/tasks", {
              headers: { authorization: `Bearer ${TOKENS.viewer}` },
            })
          ).status,
        );
    }

    // The agent path meanwhile: 5 rounds of 10 tasks claimed and completed.
    const answers: number[] = [];
    for (let round = 0; round < 5; round++) {
      const tasks = Array.from({ length: 10 }, (_, i) => ({ type: "noisy.t", payload: { round, i } }));
      answers.push((await suite.d.api("POST", "/api/tasks/batch", { body: { tasks } })).status);
      const claim = await suite.d.api("POST", `/api/agents/${agent.id}/claim`, {
        token: agent.token,
        body: { max: 10, waitMs: 2_000 },
      });
      answers.push(claim.status);
      const done = await Promise.all(
        (claim.body.tasks as Array<{ id: string; leaseToken: string }>).map((t) =>
          suite.d.api("POST", `/api/tasks/${t.id}/complete`, {
            token: agent.token,
            body: { leaseToken: t.leaseToken, result: {} },
          }),
        ),
      );
      answers.push(...done.map((r) => r.status));
    }
    stop = true;
    await readiness;
    const scraped = (await Promise.all(scrapes)).flat();
    const exported = await Promise.all(exports);
    for (const f of feeds) f.close();

    expect(
      answers.every((s) => s === 200 || s === 202),
      JSON.stringify(answers),
    ).toBe(true);
    const completed = await suite.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM tasks WHERE type = 'noisy.t' AND state = 'completed'",
    );
    expect(completed.rows[0]?.n).toBe(50);
    expect(ready.length).toBeGreaterThan(0);
    expect(
      ready.every((s) => s === 200),
      JSON.stringify(ready),
    ).toBe(true);
    expect(scraped.every((s) => s === 200)).toBe(true);
    // At most 2 per token and 3 in all ran; the rest were refused at once, never a 5xx.
    const statuses = exported.map((e) => e.status);
    expect(
      statuses.every((s) => s === 200 || s === 429),
      JSON.stringify(statuses),
    ).toBe(true);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1);
    expect(refusedFeeds).toEqual([429, 429, 429, 429]);
  });
});
