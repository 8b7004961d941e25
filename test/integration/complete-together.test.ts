import { describe, expect, it } from "vitest";
import { suiteDaemon } from "../helpers/suite-daemon.ts";

/**
 * A burst of completions at once: each completes only under its current lease, a repeat of the same
 * lease in the same burst completes nothing twice, and a stale lease among them gets its 409 alone.
 */
const suite = suiteDaemon();

describe("a burst of completions", () => {
  it("complete each task once; a repeat answers 200 and changes nothing; a stale lease gets 409", async () => {
    const agent = await suite.d.registerAgent("together", ["together.t"], { concurrency: 20 });
    const r = await suite.d.api("POST", "/api/tasks/batch", {
      body: { tasks: Array.from({ length: 20 }, (_, i) => ({ type: "together.t", payload: { i } })) },
    });
    expect(r.status).toBe(202);
    const claimed = await suite.d.api("POST", `/api/agents/${agent.id}/claim`, {
      token: agent.token,
      body: { max: 20, waitMs: 0 },
    });
    const leases = claimed.body.tasks as Array<{ id: string; leaseToken: string }>;
    expect(leases).toHaveLength(20);
    const complete = (id: string, leaseToken: string, n: number) =>
      suite.d.api("POST", `/api/tasks/${id}/complete`, {
        token: agent.token,
        body: { leaseToken, result: { n } },
      });
    const first = leases[0] as { id: string; leaseToken: string };
    const answers = await Promise.all([
      ...leases.map((l, n) => complete(l.id, l.leaseToken, n)),
      complete(first.id, first.leaseToken, 99), // the same lease again, in the same burst
      complete(first.id, "999999999", 100), // a lease that was never this task's
    ]);
    expect(answers.slice(0, 21).map((a) => a.status)).toEqual(Array(21).fill(200));
    expect(answers[21]?.status).toBe(409);
    expect(answers[21]?.body.error.code).toBe("OVS_ERR_LEASE_CONFLICT");

    const rows = await suite.db.query<{ state: string; n: number }>(
      "SELECT state, count(*)::int AS n FROM tasks WHERE type = 'together.t' GROUP BY state",
    );
    expect(rows.rows).toEqual([{ state: "completed", n: 20 }]);
    const attempts = await suite.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM task_attempts a JOIN tasks t ON t.id = a.task_id
       WHERE t.type = 'together.t' AND a.outcome = 'completed'`,
    );
    expect(attempts.rows[0]?.n).toBe(20);
    // One of the two results of that lease stands (whichever was written first), with one attempt.
    const view = await suite.d.api("GET", `/api/tasks/${first.id}`, {
      token: "test-viewer-token-0123456789",
    });
    expect([{ n: 0 }, { n: 99 }]).toContainEqual(view.body.result);
    expect(view.body.attempts).toHaveLength(1);
    const metrics = await (await fetch(`${suite.d.url}/metrics`)).text();
    expect(metrics).toMatch(/^overseer_tasks_completed_total\{[^}]*type="together\.t"[^}]*\} 20$/m);
  });
});
