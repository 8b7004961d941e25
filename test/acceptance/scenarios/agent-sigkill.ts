import { afterAll, beforeAll, expect, it } from "vitest";
import { Authenticator } from "../../../api/auth.ts";
import { eventually } from "../../helpers/daemon-harness.ts";
import { namespaceDb } from "../../helpers/namespace-cleanup.ts";
import { type AgentProcess, killAndWait, spawnAgent } from "../../helpers/processes.ts";
import { type ReplicaSet, replicaLabel, startReplicaSet } from "../../helpers/replica-set.ts";
import { TOKENS } from "../../helpers/test-env.ts";

/**
 * Acceptance 1: an agent killed with SIGKILL while holding a task: another agent claims that task
 * within OVERSEER_AGENT_DEAD_AFTER_MS + 1 s; the killed agent's late completion gets 409; the task
 * completes once. With N replicas the holder and the rescuer start on different replicas (each has
 * every URL), submissions and reads go round-robin over the replicas, and no daemon is killed, so
 * the replicas run in-process.
 */
export function agentSigkillScenario(replicas: number): void {
  let set: ReplicaSet;
  const agents: AgentProcess[] = [];

  beforeAll(async () => {
    set = await startReplicaSet({
      replicas,
      mode: "in-process",
      env: { OVERSEER_HEARTBEAT_INTERVAL_MS: "250", OVERSEER_AGENT_DEAD_AFTER_MS: "1000" },
    });
  });
  afterAll(async () => {
    await Promise.all(agents.map((a) => killAndWait(a.proc)));
    await set?.close();
  });

  it("reassigns a SIGKILLed agent's task within dead-after + 1 s, rejects its late completion, completes once", async () => {
    const type = "accept.kill";
    const deadAfterMs = set.config.agentDeadAfterMs;
    const holder = await spawnAgent({
      url: set.agentUrl(0),
      name: "holder",
      capabilities: [type],
      workMs: 60_000,
    });
    agents.push(holder);
    const { id } = (await set.api("POST", "/api/tasks", { body: { type, payload: { n: 1 } } })).body;
    await eventually(
      async () => {
        const t = (await set.api("GET", `/api/tasks/${id}`)).body;
        return t.state === "active" && t.leaseAgentId === holder.id;
      },
      10_000,
      "the holder to lease the task",
    );
    const rescuer = await spawnAgent({
      url: set.agentUrl(1),
      name: "rescuer",
      capabilities: [type],
      workMs: 300,
    });
    agents.push(rescuer);

    const killedAt = Date.now();
    await killAndWait(holder.proc);
    await eventually(
      async () => {
        const t = (await set.api("GET", `/api/tasks/${id}`)).body;
        return t.attempts.length === 2 && t.attempts[1].agentId === rescuer.id;
      },
      deadAfterMs + 3_000,
      "the rescuer to claim the task",
    );
    const reassignedAfterMs = Date.now() - killedAt;
    console.log(
      `acceptance-1 [${replicaLabel(replicas)}]: task claimed by another agent ${reassignedAfterMs} ms after SIGKILL (dead-after ${deadAfterMs} ms)`,
    );
    expect(reassignedAfterMs).toBeLessThan(deadAfterMs + 1_000);

    // The killed agent's late completion, with its own token and its revoked lease.
    const db = await namespaceDb(set.namespace);
    try {
      const first = await db.query(
        "SELECT lease_token FROM task_attempts WHERE task_id = $1 AND attempt = 1",
        [id],
      );
      const holderToken = new Authenticator({
        tokens: { admin: "", operator: "", viewer: "" },
        agentSecret: TOKENS.agentSecret,
        namespace: set.namespace,
      }).agentToken(holder.id);
      const late = await set.api("POST", `/api/tasks/${id}/complete`, {
        token: holderToken,
        body: { leaseToken: first.rows[0].lease_token, result: { by: "ghost" } },
      });
      expect(late.status).toBe(409);
      expect(late.body.error.code).toBe("OVS_ERR_LEASE_CONFLICT");

      await eventually(
        async () => (await set.api("GET", `/api/tasks/${id}`)).body.state === "completed",
        10_000,
        "completion",
      );
      const attempts = await db.query(
        "SELECT attempt, agent_id, outcome FROM task_attempts WHERE task_id = $1 ORDER BY attempt",
        [id],
      );
      expect(attempts.rows.map((r) => r.outcome)).toEqual(["lost", "completed"]);
      expect(attempts.rows[1].agent_id).toBe(rescuer.id);
      const task = (await set.api("GET", `/api/tasks/${id}`)).body;
      expect(task.result).toMatchObject({ by: "rescuer" });
    } finally {
      await db.end();
    }
  });
}
