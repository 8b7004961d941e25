import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { type AgentProcess, killAndWait, spawnAgent } from "../helpers/processes.ts";

const BACKLOG = 1_000;

/**
 * Issue 15, "rescue goes first": a task held by a real SDK agent process that is SIGKILLed while
 * 1,000 newer tasks of its type wait is claimed again within dead-after + 1 s, ahead of the backlog
 * (docs/architecture.md "Dispatch order"). One other agent of the type works slowly (one task at a
 * time, 200 ms each), so the backlog stays. Before the rescue lane the task went to the back of its
 * queue: on main it was claimed 22.6 s after the kill, behind about 170 newer tasks.
 */
describe("rescue goes first", () => {
  let d: TestDaemon;
  const agents: AgentProcess[] = [];

  beforeAll(async () => {
    d = await startTestDaemon({
      OVERSEER_HEARTBEAT_INTERVAL_MS: "250",
      OVERSEER_AGENT_DEAD_AFTER_MS: "1000",
    });
  });
  afterAll(async () => {
    await Promise.all(agents.map((a) => killAndWait(a.proc)));
    await d?.close();
  });

  it(`claims a SIGKILLed agent's task again within dead-after + 1 s, ahead of ${BACKLOG} queued`, async () => {
    const type = "accept.rescue";
    const deadAfterMs = d.config.agentDeadAfterMs;
    const holder = await spawnAgent({ url: d.url, name: "holder", capabilities: [type], workMs: 60_000 });
    agents.push(holder);
    const { id } = (await d.api("POST", "/api/tasks", { body: { type, payload: { n: 0 } } })).body;
    await eventually(
      async () => (await d.api("GET", `/api/tasks/${id}`)).body.leaseAgentId === holder.id,
      10_000,
      "the holder to lease the task",
    );

    // The backlog, all queued after the held task was first queued, at its priority.
    for (let i = 0; i < BACKLOG; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          d.api("POST", "/api/tasks", { body: { type, payload: { n: i + j + 1 } } }).then((r) => {
            if (r.status !== 202) throw new Error(`submit: ${r.status} ${r.text}`);
          }),
        ),
      );
    }
    const rescuer = await spawnAgent({ url: d.url, name: "rescuer", capabilities: [type], workMs: 200 });
    agents.push(rescuer);
    const db = await namespaceDb(d.namespace);
    try {
      const queued = async () =>
        Number(
          (await db.query("SELECT count(*) AS n FROM tasks WHERE state = 'queued' AND id <> $1", [id]))
            .rows[0].n,
        );
      const backlogAtKill = await queued();
      expect(backlogAtKill).toBeGreaterThan(BACKLOG - 100);

      const killedAt = Date.now();
      await killAndWait(holder.proc);
      await eventually(
        async () => {
          const t = (await d.api("GET", `/api/tasks/${id}`)).body;
          return t.attempts.length === 2 && t.attempts[1].agentId === rescuer.id;
        },
        deadAfterMs + 10_000,
        "the rescuer to claim the held task again",
      );
      const claimedAfterMs = Date.now() - killedAt;
      const stillQueued = await queued();
      console.log(
        `rescue: claimed again ${(claimedAfterMs / 1000).toFixed(2)} s after SIGKILL (dead-after ${(deadAfterMs / 1000).toFixed(1)} s) ahead of ${stillQueued.toLocaleString("en-US")} queued`,
      );
      expect(claimedAfterMs).toBeLessThan(deadAfterMs + 1_000);
      // The backlog was still there: the task did not just come up because the queue ran dry.
      expect(stillQueued).toBeGreaterThan(BACKLOG - 100);

      // Its lost attempt counted once, and it completes once under the rescuer's lease.
      await eventually(
        async () => (await d.api("GET", `/api/tasks/${id}`)).body.state === "completed",
        10_000,
        "completion",
      );
      const attempts = await db.query(
        "SELECT agent_id, outcome FROM task_attempts WHERE task_id = $1 ORDER BY attempt",
        [id],
      );
      expect(attempts.rows.map((r) => r.outcome)).toEqual(["lost", "completed"]);
      expect(attempts.rows[1].agent_id).toBe(rescuer.id);
    } finally {
      await db.end();
    }
  });
});
