import { describe, expect, it } from "vitest";
import { MAX_BATCH_TASKS } from "../../contract/schemas/tasks.ts";
import { suiteDaemon } from "../helpers/suite-daemon.ts";

/** POST /api/tasks/batch against real Redis and Postgres: all or nothing, one answer per task, in order. */
const suite = suiteDaemon();

const countOf = async (type: string) =>
  (await suite.db.query<{ n: number }>("SELECT count(*)::int AS n FROM tasks WHERE type = $1", [type]))
    .rows[0]?.n;

const batch = (tasks: unknown[]) => suite.d.api("POST", "/api/tasks/batch", { body: { tasks } });

describe("POST /api/tasks/batch", () => {
  it("commits every task, answers one result each in order, and agents claim them in priority order", async () => {
    const tasks = Array.from({ length: 50 }, (_, i) => ({
      type: "batch.work",
      payload: { n: i },
      priority: i === 49 ? 900 : 10,
    }));
    const r = await batch(tasks);
    expect(r.status).toBe(202);
    expect(r.body.tasks).toHaveLength(50);
    expect(
      r.body.tasks.every(
        (t: { state: string; deduplicated: boolean }) => t.state === "queued" && !t.deduplicated,
      ),
    ).toBe(true);
    expect(await countOf("batch.work")).toBe(50);
    // In order: the i-th answer is the task whose payload is { n: i }.
    const view = await suite.d.api("GET", `/api/tasks/${r.body.tasks[7].id}`, {
      token: "test-viewer-token-0123456789",
    });
    expect(view.body.payload).toEqual({ n: 7 });

    const agent = await suite.d.registerAgent("batcher", ["batch.work"], { concurrency: 3 });
    const claimed = await suite.d.api("POST", `/api/agents/${agent.id}/claim`, {
      token: agent.token,
      body: { max: 3, waitMs: 0 },
    });
    expect(claimed.status).toBe(200);
    expect(claimed.body.tasks).toHaveLength(3);
    // The one submitted last with the highest priority goes first; then FIFO within the priority.
    expect(claimed.body.tasks.map((t: { payload: { n: number } }) => t.payload.n)).toEqual([49, 0, 1]);
  });

  it("a repeated idempotency key, earlier or within the batch, answers the first task", async () => {
    const first = await suite.d.api("POST", "/api/tasks", {
      body: { type: "batch.idem", payload: { v: 1 }, idempotencyKey: "b-1" },
    });
    const r = await batch([
      { type: "batch.idem", payload: { v: 2 }, idempotencyKey: "b-1" },
      { type: "batch.idem", payload: { v: 3 }, idempotencyKey: "b-2" },
      { type: "batch.idem", payload: { v: 4 }, idempotencyKey: "b-2" },
      { type: "batch.idem", payload: { v: 5 } },
    ]);
    expect(r.status).toBe(202);
    const [a, b, c, e] = r.body.tasks;
    expect(a).toEqual({ id: first.body.id, state: "queued", deduplicated: true });
    expect(b.deduplicated).toBe(false);
    expect(c).toEqual({ id: b.id, state: "queued", deduplicated: true });
    expect(e.deduplicated).toBe(false);
    expect(await countOf("batch.idem")).toBe(3);
  });

  it("one invalid task refuses the whole batch with 400 and stores none; empty and oversized batches are 400", async () => {
    const bad = await batch([
      { type: "batch.none", payload: {} },
      { type: "batch.none", payload: {}, priority: -1 },
    ]);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("OVS_ERR_VALIDATION");
    expect(bad.body.error.message).toBe("body/tasks/1/priority must be >= 0");
    expect(await countOf("batch.none")).toBe(0);

    const empty = await batch([]);
    expect(empty.status).toBe(400);
    const tooMany = await batch(
      Array.from({ length: MAX_BATCH_TASKS + 1 }, () => ({ type: "batch.none", payload: null })),
    );
    expect(tooMany.status).toBe(400);
    expect(await countOf("batch.none")).toBe(0);
  });

  it("takes the largest batch in one request", async () => {
    const r = await batch(
      Array.from({ length: MAX_BATCH_TASKS }, (_, i) => ({ type: "batch.max", payload: { i } })),
    );
    expect(r.status).toBe(202);
    expect(r.body.tasks).toHaveLength(MAX_BATCH_TASKS);
    expect(await countOf("batch.max")).toBe(MAX_BATCH_TASKS);
    const queue = await suite.d.api("GET", "/api/dashboard/tasks/queue", {
      token: "test-viewer-token-0123456789",
    });
    expect(queue.status).toBe(200);
  });

  it("single submits committed together: one that Postgres refuses (a NUL) fails alone, the others are accepted", async () => {
    const body = (s: string) => ({ body: { type: "batch.nul", payload: { s } } });
    // The first starts a commit; the three behind it share the next one.
    const answers = await Promise.all(
      ["first", "fine", "a\u0000b", "fine too"].map((s) => suite.d.api("POST", "/api/tasks", body(s))),
    );
    expect(answers.map((a) => a.status)).toEqual([202, 202, 400, 202]);
    expect(answers[2]?.body.error.code).toBe("OVS_ERR_VALIDATION");
    expect(await countOf("batch.nul")).toBe(3);
  });
});
