import { describe, expect, it } from "vitest";
import { suiteDaemon } from "../helpers/suite-daemon.ts";

/**
 * A claim takes its tasks in one batch (one take of many jobs, one lease statement): it must still
 * hand out at most `max`, in dispatch order (priority first, FIFO within one), each task to one agent
 * only, each lease with its own fencing token and attempt row, and leave the rest queued.
 */
const suite = suiteDaemon();

interface Claimed {
  id: string;
  leaseToken: string;
  payload: { i: number };
}

describe("a claim of many tasks at once", () => {
  it("takes at most max, in priority then FIFO order, and leaves the rest queued", async () => {
    const agent = await suite.d.registerAgent("batch-one", ["batch.order"], { concurrency: 50 });
    // 30 tasks: the last 5 at a higher priority, so they must come first.
    const tasks = Array.from({ length: 30 }, (_, i) => ({
      type: "batch.order",
      payload: { i },
      priority: i >= 25 ? 10 : 0,
    }));
    expect((await suite.d.api("POST", "/api/tasks/batch", { body: { tasks } })).status).toBe(202);
    const r = await suite.d.api("POST", `/api/agents/${agent.id}/claim`, {
      token: agent.token,
      body: { max: 12, waitMs: 0 },
    });
    expect(r.status).toBe(200);
    const got = (r.body.tasks as Claimed[]).map((t) => t.payload.i);
    expect(got).toEqual([25, 26, 27, 28, 29, 0, 1, 2, 3, 4, 5, 6]);
    const tokens = new Set((r.body.tasks as Claimed[]).map((t) => t.leaseToken));
    expect(tokens.size).toBe(12);

    const states = await suite.db.query<{ state: string; n: number }>(
      "SELECT state, count(*)::int AS n FROM tasks WHERE type = 'batch.order' GROUP BY state ORDER BY state",
    );
    expect(states.rows).toEqual([
      { state: "active", n: 12 },
      { state: "queued", n: 18 },
    ]);
    const attempts = await suite.db.query<{ n: number; tokens: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT a.lease_token)::int AS tokens FROM task_attempts a
       JOIN tasks t ON t.id = a.task_id WHERE t.type = 'batch.order'`,
    );
    expect(attempts.rows[0]).toEqual({ n: 12, tokens: 12 });

    // The rest is still claimable, in order, and then the queue is empty.
    const rest = await suite.d.api("POST", `/api/agents/${agent.id}/claim`, {
      token: agent.token,
      body: { max: 50, waitMs: 0 },
    });
    expect((rest.body.tasks as Claimed[]).map((t) => t.payload.i)).toEqual(
      Array.from({ length: 18 }, (_, i) => i + 7),
    );
  });

  it("splits one queue between agents claiming at the same time, each task once", async () => {
    const agents = await Promise.all(
      [0, 1, 2, 3].map((n) =>
        suite.d.registerAgent(`batch-split-${n}`, ["batch.split"], { concurrency: 40 }),
      ),
    );
    const tasks = Array.from({ length: 100 }, (_, i) => ({ type: "batch.split", payload: { i } }));
    expect((await suite.d.api("POST", "/api/tasks/batch", { body: { tasks } })).status).toBe(202);
    const claims = await Promise.all(
      agents.map((a) =>
        suite.d.api("POST", `/api/agents/${a.id}/claim`, { token: a.token, body: { max: 40, waitMs: 0 } }),
      ),
    );
    const ids = claims.flatMap((c) => (c.body.tasks as Claimed[]).map((t) => t.id));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeLessThanOrEqual(100);
    for (const c of claims) expect((c.body.tasks as Claimed[]).length).toBeLessThanOrEqual(40);
    const active = await suite.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM tasks WHERE type = 'batch.split' AND state = 'active'",
    );
    expect(active.rows[0]?.n).toBe(ids.length);
  });
});
