import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";

let d: TestDaemon;

beforeAll(async () => {
  d = await startTestDaemon();
});
afterAll(async () => {
  await d?.close();
});

const claim = (agent: { id: string; token: string }, body: Record<string, unknown> = { max: 1, waitMs: 0 }) =>
  d.api("POST", `/api/agents/${agent.id}/claim`, { token: agent.token, body });

describe("task protocol against real Redis and Postgres", () => {
  it("submits, claims with a lease, completes once; a repeat is idempotent and another lease gets 409", async () => {
    const agent = await d.registerAgent("p1", ["proto.echo"]);
    const submitted = await d.api("POST", "/api/tasks", { body: { type: "proto.echo", payload: { n: 1 } } });
    expect(submitted.status).toBe(202);
    const claimed = await claim(agent);
    expect(claimed.status).toBe(200);
    expect(claimed.body.tasks).toHaveLength(1);
    const task = claimed.body.tasks[0];
    expect(task).toMatchObject({ id: submitted.body.id, type: "proto.echo", payload: { n: 1 }, attempt: 1 });
    const progress = await d.api("POST", `/api/tasks/${task.id}/progress`, {
      token: agent.token,
      body: { leaseToken: task.leaseToken, percent: 50, message: "half" },
    });
    expect(progress.status).toBe(200);
    const done = await d.api("POST", `/api/tasks/${task.id}/complete`, {
      token: agent.token,
      body: { leaseToken: task.leaseToken, result: { ok: true } },
    });
    expect(done.status).toBe(200);
    // A retried completion of the same lease (its first answer lost) is idempotent: 200, no change.
    const again = await d.api("POST", `/api/tasks/${task.id}/complete`, {
      token: agent.token,
      body: { leaseToken: task.leaseToken, result: { ok: false } },
    });
    expect(again.status).toBe(200);
    // Any other lease on a completed task is a conflict.
    const stale = await d.api("POST", `/api/tasks/${task.id}/complete`, {
      token: agent.token,
      body: { leaseToken: "999999999", result: { ok: false } },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe("OVS_ERR_LEASE_CONFLICT");
    const view = await d.api("GET", `/api/tasks/${task.id}`, { token: "test-viewer-token-0123456789" });
    expect(view.body).toMatchObject({ state: "completed", result: { ok: true } });
    expect(view.body.attempts).toHaveLength(1);
    expect(view.body.attempts[0].outcome).toBe("completed");
  });

  it("an idempotency key returns the existing task", async () => {
    const body = { type: "proto.idem", payload: {}, idempotencyKey: "key-1" };
    const a = await d.api("POST", "/api/tasks", { body });
    const b = await d.api("POST", "/api/tasks", { body });
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(b.body).toMatchObject({ id: a.body.id, deduplicated: true });
  });

  it("honours priorities within a type (higher first, FIFO among equals)", async () => {
    const agent = await d.registerAgent("p2", ["proto.prio"]);
    const ids: Record<string, string> = {};
    for (const [name, priority] of [
      ["low", 1],
      ["high", 900],
      ["mid", 500],
      ["high2", 900],
    ] as const) {
      ids[name] = (
        await d.api("POST", "/api/tasks", { body: { type: "proto.prio", payload: { name }, priority } })
      ).body.id;
    }
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      const t = (await claim(agent)).body.tasks[0];
      order.push(t.payload.name);
      await d.api("POST", `/api/tasks/${t.id}/complete`, {
        token: agent.token,
        body: { leaseToken: t.leaseToken },
      });
    }
    expect(order).toEqual(["high", "high2", "mid", "low"]);
  });

  it("retries with backoff, then dead-letters with the reason; an operator retry re-queues it", async () => {
    const agent = await d.registerAgent("p3", ["proto.flaky"]);
    const { id } = (
      await d.api("POST", "/api/tasks", { body: { type: "proto.flaky", payload: {}, maxAttempts: 2 } })
    ).body;
    for (let attempt = 1; attempt <= 2; attempt++) {
      const t = (await claim(agent, { max: 1, waitMs: 3_000 })).body.tasks[0];
      expect(t).toMatchObject({ id, attempt });
      const failed = await d.api("POST", `/api/tasks/${id}/fail`, {
        token: agent.token,
        body: { leaseToken: t.leaseToken, error: { message: `boom ${attempt}`, category: "tool_error" } },
      });
      expect(failed.status).toBe(200);
    }
    const dead = (await d.api("GET", `/api/tasks/${id}`)).body;
    expect(dead.state).toBe("dead");
    expect(dead.deadReason).toContain("boom 2");
    expect(dead.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(["failed", "failed"]);
    expect((await d.api("POST", `/api/tasks/${id}/retry`)).status).toBe(202);
    const t = (await claim(agent, { max: 1, waitMs: 3_000 })).body.tasks[0];
    expect(t).toMatchObject({ id, attempt: 3 });
    await d.api("POST", `/api/tasks/${id}/complete`, {
      token: agent.token,
      body: { leaseToken: t.leaseToken },
    });
    expect((await d.api("GET", `/api/tasks/${id}`)).body.state).toBe("completed");
    expect((await d.api("POST", `/api/tasks/${id}/retry`)).status).toBe(409);
  });

  it("a non-retryable failure is terminal at once", async () => {
    const agent = await d.registerAgent("p4", ["proto.fatal"]);
    const { id } = (await d.api("POST", "/api/tasks", { body: { type: "proto.fatal", payload: {} } })).body;
    const t = (await claim(agent)).body.tasks[0];
    await d.api("POST", `/api/tasks/${id}/fail`, {
      token: agent.token,
      body: { leaseToken: t.leaseToken, error: { message: "bad input", retryable: false } },
    });
    expect((await d.api("GET", `/api/tasks/${id}`)).body.state).toBe("failed");
  });

  it("a long-poll claim wakes as soon as a task arrives", async () => {
    const agent = await d.registerAgent("p5", ["proto.wake"]);
    const started = Date.now();
    const pending = claim(agent, { max: 1, waitMs: 5_000 });
    await new Promise((r) => setTimeout(r, 200));
    await d.api("POST", "/api/tasks", { body: { type: "proto.wake", payload: {} } });
    const r = await pending;
    expect(r.body.tasks).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(4_000);
    const empty = await claim(agent, { max: 1, waitMs: 300 });
    expect(empty.body.tasks).toEqual([]);
  });

  it("release hands the task back without counting an attempt; deregister releases leases", async () => {
    const a = await d.registerAgent("p6", ["proto.rel"]);
    a.silence();
    const { id } = (
      await d.api("POST", "/api/tasks", { body: { type: "proto.rel", payload: {}, maxAttempts: 1 } })
    ).body;
    const t1 = (await claim(a)).body.tasks[0];
    expect(
      (
        await d.api("POST", `/api/tasks/${id}/release`, {
          token: a.token,
          body: { leaseToken: t1.leaseToken },
        })
      ).status,
    ).toBe(200);
    const t2 = (await claim(a, { max: 1, waitMs: 2_000 })).body.tasks[0];
    expect(t2).toMatchObject({ id, attempt: 2 });
    expect((await d.api("DELETE", `/api/agents/${a.id}`, { token: a.token })).status).toBe(204);
    const b = await d.registerAgent("p6b", ["proto.rel"]);
    const t3 = (await claim(b, { max: 1, waitMs: 2_000 })).body.tasks[0];
    expect(t3).toMatchObject({ id, attempt: 3 });
    // The departed agent's old lease is revoked.
    const late = await d.api("POST", `/api/tasks/${id}/complete`, {
      token: a.token,
      body: { leaseToken: t2.leaseToken },
    });
    expect(late.status).toBe(409);
    expect(
      (
        await d.api("POST", `/api/tasks/${id}/complete`, {
          token: b.token,
          body: { leaseToken: t3.leaseToken },
        })
      ).status,
    ).toBe(200);
    // Heartbeat of a departed agent: 404, so the SDK registers again.
    expect((await d.api("POST", `/api/agents/${a.id}/heartbeat`, { token: a.token, body: {} })).status).toBe(
      404,
    );
  });

  it("a silent agent goes stale then dead; its task is requeued at once and its late completion gets 409", async () => {
    const a = await d.registerAgent("p7", ["proto.dead"]);
    const b = await d.registerAgent("p7b", ["proto.dead"]);
    a.silence();
    const { id } = (await d.api("POST", "/api/tasks", { body: { type: "proto.dead", payload: {} } })).body;
    const t = (await claim(a)).body.tasks[0];
    expect(t.id).toBe(id);
    {
      const started = Date.now();
      const reclaimed = await eventually(
        async () => {
          const r = await claim(b, { max: 1, waitMs: 500 });
          return r.body.tasks[0];
        },
        5_000,
        "the task to reach agent b",
      );
      expect(reclaimed).toMatchObject({ id, attempt: 2 });
      expect(Date.now() - started).toBeLessThan(d.config.agentDeadAfterMs + 1_000);
      const late = await d.api("POST", `/api/tasks/${id}/complete`, {
        token: a.token,
        body: { leaseToken: t.leaseToken },
      });
      expect(late.status).toBe(409);
      expect(
        (
          await d.api("POST", `/api/tasks/${id}/complete`, {
            token: b.token,
            body: { leaseToken: reclaimed.leaseToken },
          })
        ).status,
      ).toBe(200);
    }
    const db = await namespaceDb(d.namespace);
    try {
      const transitions = await db.query(
        "SELECT to_state FROM agent_transitions WHERE agent_id = $1 ORDER BY id",
        [a.id],
      );
      expect(transitions.rows.map((r) => r.to_state)).toEqual(["active", "stale", "dead"]);
      const attempts = await db.query(
        "SELECT outcome FROM task_attempts WHERE task_id = $1 ORDER BY attempt",
        [id],
      );
      expect(attempts.rows.map((r) => r.outcome)).toEqual(["lost", "completed"]);
    } finally {
      await db.end();
    }
  });

  it("a task that overruns its timeout is revoked, the agent is told to cancel, and it runs again", async () => {
    const a = await d.registerAgent("p8", ["proto.slow"]);
    // This test heartbeats itself: a background heartbeat would take the cancel command.
    a.silence();
    const { id } = (
      await d.api("POST", "/api/tasks", { body: { type: "proto.slow", payload: {}, timeoutMs: 300 } })
    ).body;
    const t = (await claim(a)).body.tasks[0];
    const commands = await eventually(
      async () => {
        const r = await d.api("POST", `/api/agents/${a.id}/heartbeat`, {
          token: a.token,
          body: { activeTaskIds: [id] },
        });
        return r.body.commands.length > 0 ? r.body.commands : null;
      },
      5_000,
      "a cancel command",
    );
    expect(commands[0]).toMatchObject({ type: "cancel", taskId: id, reason: "timed_out" });
    const late = await d.api("POST", `/api/tasks/${id}/complete`, {
      token: a.token,
      body: { leaseToken: t.leaseToken },
    });
    expect(late.status).toBe(409);
    // Still alive: the agent has no background heartbeats, and a stale agent's claim is answered
    // empty at once (a loaded 2-core CI run took longer than the stale threshold to get here).
    await d.api("POST", `/api/agents/${a.id}/heartbeat`, { token: a.token, body: {} });
    const again = (await claim(a, { max: 1, waitMs: 3_000 })).body.tasks[0];
    expect(again).toMatchObject({ id, attempt: 2 });
  });

  it("exports the state in /metrics", async () => {
    const r = await d.api("GET", "/metrics", { token: null });
    expect(r.status).toBe(200);
    for (const name of [
      "overseer_agents{",
      "overseer_tasks_submitted_total{",
      "overseer_tasks_completed_total{",
      "overseer_tasks_dead_lettered_total{",
      "overseer_tasks_reassigned_total{",
      "overseer_queue_depth{",
      "overseer_task_queue_wait_seconds_bucket{",
      "overseer_task_duration_seconds_bucket{",
      "overseer_http_request_duration_seconds_bucket{",
      "overseer_agent_heartbeat_age_seconds{",
      "overseer_process_cpu_seconds_total",
      "overseer_nodejs_eventloop_lag_seconds",
    ]) {
      expect(r.text, name).toContain(name);
    }
    expect(r.text).not.toMatch(/task_id=/);
  });
});
