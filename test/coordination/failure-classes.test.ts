import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startTestDaemon, type TestAgent, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { TOKENS } from "../helpers/test-env.ts";

/**
 * Acceptance (issue 6, 1): 20 % of tasks fail by injected causes of several classes; the failures
 * endpoint classifies each one as its cause says, and the success rate matches Postgres's counts.
 */
let d: TestDaemon;

beforeAll(async () => {
  d = await startTestDaemon();
});
afterAll(async () => {
  await d?.close();
});

/** Injected agent-reported failures: [category, message, expected class]. */
const REPORTED: Array<[string, string, string]> = [
  ["rate_limit", "provider said slow down", "llm_provider"],
  ["upstream", "HTTP 429 Too Many Requests from the model API", "llm_provider"],
  ["upstream", "connect ECONNREFUSED 127.0.0.1:6379 (redis)", "redis_connection"],
  ["unknown", "Unexpected token < in JSON at position 0", "serialization"],
  ["validation", "field 'topic' is required", "validation"],
  ["budget_exceeded", "mission budget of 10 USD is spent", "budget"],
  ["unknown", "something odd happened", "unknown"],
];
const COMPLETING = 40;

const claim = (agent: TestAgent, max: number, waitMs = 0) =>
  d.api("POST", `/api/agents/${agent.id}/claim`, { token: agent.token, body: { max, waitMs } });

describe("coordination acceptance: failure classes and success rate", () => {
  it("classifies every injected failure and reports Postgres's success rate", async () => {
    const expectedClass = new Map<string, string>();
    const submit = async (type: string, payload: unknown, extra: Record<string, unknown> = {}) => {
      const r = await d.api("POST", "/api/tasks", { body: { type, payload, maxAttempts: 1, ...extra } });
      expect(r.status).toBe(202);
      return r.body.id as string;
    };

    // 40 that complete and 7 that fail with a reported cause, all of type "acc.work".
    for (let i = 0; i < COMPLETING; i++) await submit("acc.work", { cause: null });
    for (const [i, [category, message, cls]] of REPORTED.entries()) {
      expectedClass.set(await submit("acc.work", { cause: i, category, message }), cls);
    }
    // One that overruns its lease, and two held by an agent that is then killed.
    expectedClass.set(await submit("acc.slow", {}, { timeoutMs: 300 }), "timeout");
    const doomed = [await submit("acc.doomed", {}), await submit("acc.doomed", {})];
    for (const id of doomed) expectedClass.set(id, "lost_agent");

    const worker = await d.registerAgent("acc-worker", ["acc.work"], { concurrency: 50 });
    const sleeper = await d.registerAgent("acc-sleeper", ["acc.slow"]);
    const crasher = await d.registerAgent("acc-crasher", ["acc.doomed"], { concurrency: 2 });

    const slow = await eventually(
      async () => (await claim(sleeper, 1)).body.tasks[0],
      10_000,
      "slow task claimed",
    );
    const held: string[] = [];
    await eventually(
      async () => {
        for (const t of (await claim(crasher, 2)).body.tasks) held.push(t.id);
        return held.length === 2;
      },
      10_000,
      "doomed tasks claimed",
    );
    crasher.silence(); // killed mid-task: no heartbeat, no report

    let handled = 0;
    for (let pass = 0; pass < 200 && handled < COMPLETING + REPORTED.length; pass++) {
      const tasks = (await claim(worker, 50, 200)).body.tasks as Array<{
        id: string;
        leaseToken: string;
        payload: { cause: number | null; category?: string; message?: string };
      }>;
      for (const t of tasks) {
        const body =
          t.payload.cause === null
            ? { leaseToken: t.leaseToken, result: { ok: true } }
            : {
                leaseToken: t.leaseToken,
                error: { category: t.payload.category, message: t.payload.message, retryable: false },
              };
        const r = await d.api(
          "POST",
          `/api/tasks/${t.id}/${t.payload.cause === null ? "complete" : "fail"}`,
          {
            token: worker.token,
            body,
          },
        );
        expect(r.status).toBe(200);
        handled++;
      }
    }
    expect(handled).toBe(COMPLETING + REPORTED.length);

    const db = await namespaceDb(d.namespace);
    try {
      // Every task ends: the slow one by its timeout, the doomed ones when their agent is declared dead.
      await eventually(
        async () => {
          const r = await db.query(
            "SELECT count(*)::int AS n FROM tasks WHERE state NOT IN ('completed', 'dead', 'failed')",
          );
          return r.rows[0].n === 0;
        },
        20_000,
        "every task ended",
      );
      expect(slow.id).toBeTruthy();

      const failures = await d.api("GET", "/api/dashboard/coordination/failures?window=1h", {
        token: TOKENS.viewer,
      });
      expect(failures.status).toBe(200);
      const byClass = new Map<string, { count: number; examples: Array<{ taskId: string }> }>(
        failures.body.classes.map((c: { class: string }) => [c.class, c]),
      );
      const wanted = new Map<string, number>();
      for (const cls of expectedClass.values()) wanted.set(cls, (wanted.get(cls) ?? 0) + 1);
      for (const [cls, n] of wanted) expect(byClass.get(cls)?.count, cls).toBe(n);
      expect(failures.body.total).toBe(expectedClass.size);
      expect(failures.body.unclassified).toBe(0);
      // Each example sits in the class its injected cause belongs to.
      for (const [cls, entry] of byClass) {
        for (const ex of entry.examples) expect(expectedClass.get(ex.taskId), ex.taskId).toBe(cls);
      }

      // Independent Postgres counts of ended attempts.
      const pgCounts = (
        await db.query(
          `SELECT count(*) FILTER (WHERE outcome = 'completed')::int AS completed,
             count(*) FILTER (WHERE outcome IN ('failed', 'timed_out', 'lost'))::int AS failed
           FROM task_attempts WHERE finished_at > now() - interval '5 minutes'`,
        )
      ).rows[0];
      const rate = await d.api("GET", "/api/dashboard/coordination/success-rate", { token: TOKENS.viewer });
      expect(rate.status, rate.text).toBe(200);
      expect(rate.body.live).toMatchObject({ completed: pgCounts.completed, failed: pgCounts.failed });
      expect(rate.body.live.rate).toBeCloseTo(
        pgCounts.completed / (pgCounts.completed + pgCounts.failed),
        10,
      );
      expect(rate.body.windows["1h"]).toMatchObject({
        completed: pgCounts.completed,
        failed: pgCounts.failed,
      });
      expect(pgCounts).toEqual({ completed: COMPLETING, failed: expectedClass.size });
      const hourlyTotal = rate.body.hourly.reduce((n: number, h: { failed: number }) => n + h.failed, 0);
      expect(hourlyTotal).toBe(expectedClass.size);

      const logs = await d.api("GET", "/api/dashboard/logs/coordination?window=1h&limit=500", {
        token: TOKENS.viewer,
      });
      expect(logs.status).toBe(200);
      const attemptPatterns = new Map<string, number>();
      for (const g of logs.body.groups) {
        attemptPatterns.set(
          g.pattern,
          g.events.filter((e: { kind: string }) => e.kind.startsWith("attempt_")).length,
        );
      }
      for (const [cls, n] of wanted) expect(attemptPatterns.get(cls), `log pattern ${cls}`).toBe(n);

      console.log(
        `coordination-acceptance: ${pgCounts.completed + pgCounts.failed} attempts, ${pgCounts.failed} failed ` +
          `(${((100 * pgCounts.failed) / (pgCounts.completed + pgCounts.failed)).toFixed(0)} %), ` +
          `success rate ${rate.body.live.rate.toFixed(3)} = Postgres ${pgCounts.completed}/${pgCounts.completed + pgCounts.failed}; ` +
          `classes ${[...wanted].map(([c, n]) => `${c}=${byClass.get(c)?.count}/${n}`).join(" ")}`,
      );
    } finally {
      await db.end();
    }
  });
});
