import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestAgent, type TestDaemon } from "../helpers/daemon-harness.ts";

// Issue 15: a lease token that is not the caller's current lease answers one 409, whatever the
// reason, and changes nothing. Only the lease's own holder learns that its task's timeout passed.
let d: TestDaemon;

beforeAll(async () => {
  // The liveness pass (which ends overrun leases) waits a minute: the overrun lease stays in place.
  d = await startTestDaemon({ OVERSEER_SWEEP_INTERVAL_MS: "60000" });
});
afterAll(async () => {
  await d?.close();
});

const report = (agent: TestAgent, id: string, op: string, body: Record<string, unknown>) =>
  d.api("POST", `/api/tasks/${id}/${op}`, { token: agent.token, body });

describe("a lease past its task's timeout", () => {
  it("its holder gets 409 with details.reason timed_out; another agent the plain 409; nothing changes", async () => {
    const a = await d.registerAgent("overrun-a", ["conflict.overrun"]);
    const b = await d.registerAgent("overrun-b", ["conflict.overrun"]);
    const { id } = (
      await d.api("POST", "/api/tasks", { body: { type: "conflict.overrun", payload: {}, timeoutMs: 100 } })
    ).body;
    const claimed = await d.api("POST", `/api/agents/${a.id}/claim`, {
      token: a.token,
      body: { max: 1, waitMs: 2_000 },
    });
    const lease = claimed.body.tasks[0];
    expect(lease.id).toBe(id);
    await new Promise((r) => setTimeout(r, 300));

    const message = `lease ${lease.leaseToken} is not a current lease of this agent on task ${id}`;
    for (const op of ["complete", "progress"]) {
      const own = await report(a, id, op, { leaseToken: lease.leaseToken });
      expect(own.status, op).toBe(409);
      expect(own.body.error).toEqual({
        code: "OVS_ERR_LEASE_CONFLICT",
        message,
        details: { state: "active", reason: "timed_out" },
      });
      const other = await report(b, id, op, { leaseToken: lease.leaseToken });
      expect(other.status, op).toBe(409);
      expect(other.body.error).toEqual({
        code: "OVS_ERR_LEASE_CONFLICT",
        message,
        details: { state: "active" },
      });
    }
    const task = (await d.api("GET", `/api/tasks/${id}`)).body;
    expect(task).toMatchObject({
      state: "active",
      leaseAgentId: a.id,
      progress: { percent: null, message: null },
    });
  });
});
