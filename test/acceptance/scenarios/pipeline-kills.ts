import { afterAll, expect, it } from "vitest";
import { MISSION_TEMPLATE } from "../../../daemon/pipelines/builtin-templates.ts";
import { eventually } from "../../helpers/daemon-harness.ts";
import { namespaceDb } from "../../helpers/namespace-cleanup.ts";
import { type AgentProcess, killAndWait, spawnAgent } from "../../helpers/processes.ts";
import {
  type ReplicaMode,
  type ReplicaSet,
  replicaLabel,
  startReplicaSet,
} from "../../helpers/replica-set.ts";
import { TOKENS } from "../../helpers/test-env.ts";
import { killLeader } from "./kill-leader.ts";

/**
 * Acceptance 3 of the pipelines issue: runs survive an agent SIGKILL mid-step and a daemon SIGKILL
 * mid-run, and no step is ever recorded completed twice. With N replicas agents start on different
 * replicas (each has every URL), runs are submitted round-robin, views are read from any replica,
 * and the daemon SIGKILLed mid-run is the leader replica.
 */
const CAPS = MISSION_TEMPLATE.steps.flatMap((s) =>
  s.executor.kind === "agent" ? [s.executor.capability] : [],
);

export function pipelineKillsScenario(replicas: number): void {
  const sets: ReplicaSet[] = [];
  const agents: AgentProcess[] = [];

  afterAll(async () => {
    await Promise.all(agents.map((a) => killAndWait(a.proc, "SIGKILL")));
    for (const set of sets) await set.close();
  });

  async function replicaSet(mode: ReplicaMode) {
    const set = await startReplicaSet({
      replicas,
      mode,
      env: {
        OVERSEER_HEARTBEAT_INTERVAL_MS: "250",
        OVERSEER_AGENT_DEAD_AFTER_MS: "1000",
        OVERSEER_PIPELINE_SWEEP_INTERVAL_MS: "250",
        // A SIGKILLed leader never releases its lease: a survivor takes over once it expires.
        OVERSEER_LEADER_LEASE_MS: "1500",
      },
    });
    sets.push(set);
    return set;
  }

  async function agent(set: ReplicaSet, k: number, name: string, workMs: number): Promise<AgentProcess> {
    const a = await spawnAgent({ url: set.agentUrl(k), name, capabilities: CAPS, concurrency: 8, workMs });
    agents.push(a);
    return a;
  }

  const runView = async (set: ReplicaSet, id: string) =>
    (await set.api("GET", `/api/pipelines/runs/${id}`, { token: TOKENS.viewer })).body;

  it("a run whose agent is SIGKILLed mid-step finishes on another agent", async () => {
    // No daemon is killed here: in-process replicas start faster.
    const set = await replicaSet("in-process");
    const first = await agent(set, 0, "first", 3_000);
    const { id } = (
      await set.api("POST", "/api/pipelines/mission/runs", {
        body: { input: { request: "kill the agent mid-step" } },
      })
    ).body;
    const running = await eventually(
      async () => {
        const v = await runView(set, id);
        const step = v.steps.find((s: { id: string }) => s.id === "intent");
        return step.state === "running" && step.agentId === first.id ? step : null;
      },
      15_000,
      "the intent step to run on the first agent",
    );
    const second = await agent(set, 1, "second", 50);
    await killAndWait(first.proc, "SIGKILL");
    const done = await eventually(
      async () => {
        const v = await runView(set, id);
        return v.state === "completed" ? v : null;
      },
      30_000,
      "the run to complete after the SIGKILL",
    );
    const task = (await set.api("GET", `/api/tasks/${running.taskId}`, { token: TOKENS.viewer })).body;
    console.log(
      `pipeline acceptance 3a [${replicaLabel(replicas)}]: intent step attempts ${JSON.stringify(task.attempts.map((a: { agentId: string; outcome: string }) => [a.agentId === first.id ? "first" : "second", a.outcome]))}`,
    );
    expect(task.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(["lost", "completed"]);
    expect(task.attempts[1].agentId).toBe(second.id);
    expect(done.percent).toBe(100);
  }, 90_000);

  it("a daemon SIGKILLed mid-run and started again: every run completes, no step completed twice", async () => {
    const set = await replicaSet("process");
    for (const [k, name] of ["a", "b", "c"].entries()) await agent(set, k, name, 150);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await set.api("POST", "/api/pipelines/mission/runs", {
        body: { input: { request: `run ${i}` } },
      });
      ids.push(r.body.id);
    }
    const db = await namespaceDb(set.namespace);
    const count = async (sql: string) => Number((await db.query(sql)).rows[0].n);
    await eventually(
      async () => (await count("SELECT count(*) AS n FROM pipeline_steps WHERE state = 'completed'")) >= 40,
      30_000,
      "some steps to complete",
    );
    const atKill = await count("SELECT count(*) AS n FROM pipeline_runs WHERE state = 'completed'");
    // Started again at once, as with one daemon. With several, the 60 s bound below covers the
    // survivors' takeover (the lease, 1.5 s, plus a renewal period) many times over.
    const kill = await killLeader(set, 0);
    await eventually(
      async () => (await count("SELECT count(*) AS n FROM pipeline_runs WHERE state <> 'completed'")) === 0,
      60_000,
      "every run to complete after the restart",
    );
    const allDoneAfterMs = Date.now() - kill.killedAt;
    const twice = await count(
      `SELECT count(*) AS n FROM (SELECT run_id, step_id FROM pipeline_events WHERE type = 'step.completed'
       GROUP BY run_id, step_id HAVING count(*) > 1) x`,
    );
    const stepTasks = await count(
      `SELECT count(*) AS n FROM (SELECT run_id, step_id FROM pipeline_steps s JOIN tasks t
         ON t.idempotency_key LIKE 'pipeline:' || s.run_id || ':' || s.step_id || ':%'
       GROUP BY run_id, step_id HAVING count(*) > 1) x`,
    );
    const completedAttempts = await count(
      `SELECT count(*) AS n FROM task_attempts a JOIN pipeline_steps s ON s.task_id = a.task_id WHERE a.outcome = 'completed'`,
    );
    const agentSteps = await count(
      "SELECT count(*) AS n FROM pipeline_steps WHERE task_id IS NOT NULL AND state = 'completed'",
    );
    await db.end();
    console.log(
      `pipeline acceptance 3b [${replicaLabel(replicas)}]: ${ids.length} runs, ${atKill} completed at the SIGKILL, ${kill.summary}, all completed ${allDoneAfterMs} ms after the kill; ` +
        `steps completed twice: ${twice}; steps with two tasks: ${stepTasks}; completed attempts ${completedAttempts} for ${agentSteps} agent steps`,
    );
    expect(twice).toBe(0);
    expect(stepTasks).toBe(0);
    expect(completedAttempts).toBe(agentSteps);
    // With several replicas a survivor took the killed leader's place.
    if (replicas > 1) expect(kill.newLeaderAfterMs).not.toBeNull();
  }, 150_000);
}
