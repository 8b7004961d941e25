import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiResponse } from "../helpers/api-client.ts";
import { startTestDaemon, type TestAgent, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { TOKENS } from "../helpers/test-env.ts";

/**
 * Issue 15: GET /api/tasks pages 10,000 tasks with limit 500 while an agent completes and fails some
 * of them and new ones are submitted: every task that existed when paging began is listed exactly
 * once. The order key (created_at, id) never changes, so a task that moves on keeps its place.
 */
const ROUNDS = 20;
const BULK_PER_ROUND = 490; // finished history, written as a fixture in one statement per round
const LIVE_PER_ROUND = 10; // submitted through the API, claimed and finished while paging
const TOTAL = ROUNDS * (BULK_PER_ROUND + LIVE_PER_ROUND);

describe("GET /api/tasks under concurrent completion", () => {
  let d: TestDaemon;
  let db: pg.Client;
  let agent: TestAgent;

  beforeAll(async () => {
    d = await startTestDaemon();
    db = await namespaceDb(d.namespace);
    agent = await d.registerAgent("pager-worker", ["page.work"], { concurrency: 10 });
    // Interleaved: each round's bulk rows share one created_at (ties only the id breaks), and the
    // live tasks come between rounds, so the ones that change state are spread over every page.
    for (let round = 0; round < ROUNDS; round++) {
      await db.query(
        `INSERT INTO tasks (id, type, payload, max_attempts, timeout_ms, state, attempts, finished_at)
         SELECT gen_random_uuid(), 'page.history', '{}'::jsonb, 3, 60000,
                (ARRAY['completed', 'dead', 'failed'])[1 + g % 3], 1, now()
         FROM generate_series(1, $1) AS g`,
        [BULK_PER_ROUND],
      );
      const live = await Promise.all(
        Array.from({ length: LIVE_PER_ROUND }, (_, i) =>
          d.api("POST", "/api/tasks", { body: { type: "page.work", payload: { round, i } } }),
        ),
      );
      for (const r of live) expect(r.status, r.text).toBe(202);
    }
  }, 120_000);
  afterAll(async () => {
    agent?.silence();
    await db?.end();
    await d?.close();
  });

  it(`pages ${TOTAL} tasks with limit 500 while tasks complete: none skipped, none repeated`, async () => {
    const existing = new Set((await db.query<{ id: string }>("SELECT id FROM tasks")).rows.map((r) => r.id));
    expect(existing.size).toBe(TOTAL);

    let finished = 0;
    let submitted = 0;
    /** One round of work beside a page read: claim what is there, complete or fail it, submit more. */
    const work = async (round: number) => {
      const claim = await d.api("POST", `/api/agents/${agent.id}/claim`, {
        token: agent.token,
        body: { max: 10, waitMs: 0 },
      });
      const leases = (claim.body?.tasks ?? []) as Array<{ id: string; leaseToken: string }>;
      await Promise.all([
        ...leases.map(async (l, i) => {
          const r =
            i % 4 === 3
              ? await d.api("POST", `/api/tasks/${l.id}/fail`, {
                  token: agent.token,
                  body: { leaseToken: l.leaseToken, error: { message: "no", retryable: false } },
                })
              : await d.api("POST", `/api/tasks/${l.id}/complete`, {
                  token: agent.token,
                  body: { leaseToken: l.leaseToken, result: { round } },
                });
          expect(r.status, r.text).toBe(200);
          finished++;
        }),
        // From the second page on: a task submitted beside the first page's read may land in it.
        ...Array.from({ length: round === 0 ? 0 : 5 }, async () => {
          const r = await d.api("POST", "/api/tasks", { body: { type: "page.new", payload: { round } } });
          expect(r.status).toBe(202);
          submitted++;
        }),
      ]);
    };

    const seen: string[] = [];
    const createdAt: number[] = [];
    let before: string | null = null;
    let pages = 0;
    let firstTotal = -1;
    do {
      const path: string = `/api/tasks?limit=500${before ? `&before=${encodeURIComponent(before)}` : ""}`;
      // The page is read while the round's claims, completions and submissions run.
      const [page]: [ApiResponse, unknown] = await Promise.all([
        d.api("GET", path, { token: TOKENS.viewer }),
        work(pages),
      ]);
      expect(page.status, page.text).toBe(200);
      if (firstTotal < 0) firstTotal = page.body.total;
      for (const t of page.body.tasks as Array<{ id: string; createdAt: string }>) {
        seen.push(t.id);
        createdAt.push(Date.parse(t.createdAt));
      }
      before = page.body.nextBefore;
      pages++;
    } while (before !== null && pages < 100);

    const unique = new Set(seen);
    const repeated = seen.length - unique.size;
    const skipped = [...existing].filter((id) => !unique.has(id)).length;
    const strangers = [...unique].filter((id) => !existing.has(id)).length;
    console.log(
      `task list paging: ${TOTAL} tasks in ${pages} pages of 500 while ${finished} were completed or failed and ${submitted} submitted: ${unique.size} listed, ${skipped} skipped, ${repeated} repeated, ${strangers} not from the start (first page's total ${firstTotal})`,
    );
    expect(repeated).toBe(0);
    expect(skipped).toBe(0);
    // Submitted while paging means newer than the first page: never in this listing.
    expect(strangers).toBe(0);
    expect(seen).toHaveLength(TOTAL);
    expect(pages).toBe(TOTAL / 500);
    expect(firstTotal).toBe(TOTAL);
    for (let i = 1; i < createdAt.length; i++) {
      expect(createdAt[i] as number).toBeLessThanOrEqual(createdAt[i - 1] as number);
    }
    expect(finished).toBeGreaterThan(0);
    const now = await d.api("GET", "/api/tasks?type=page.work&state=queued&limit=1", {
      token: TOKENS.viewer,
    });
    expect(now.body.total).toBe(ROUNDS * LIVE_PER_ROUND - finished);
  }, 120_000);
});
