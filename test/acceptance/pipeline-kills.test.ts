import type { ChildProcess } from "node:child_process";
import { afterAll, expect, it } from "vitest";
import { getFreePort } from "../../daemon/embedded/free-port.ts";
import { MISSION_TEMPLATE } from "../../daemon/pipelines/builtin-templates.ts";
import { call } from "../helpers/api-client.ts";
import { eventually } from "../helpers/daemon-harness.ts";
import { dropNamespace, namespaceDb } from "../helpers/namespace-cleanup.ts";
import { type AgentProcess, killAndWait, spawnAgent, spawnDaemon } from "../helpers/processes.ts";
import { daemonEnv, freshNamespace, TOKENS } from "../helpers/test-env.ts";

// Acceptance 3 of the pipelines issue: runs survive an agent SIGKILL mid-step and a daemon SIGKILL
// mid-run, and no step is ever recorded completed twice.
const CAPS = MISSION_TEMPLATE.steps.flatMap((s) =>
  s.executor.kind === "agent" ? [s.executor.capability] : [],
);
const procs: ChildProcess[] = [];
const namespaces: string[] = [];

afterAll(async () => {
  await Promise.all(procs.map((p) => killAndWait(p, "SIGKILL")));
  for (const ns of namespaces) await dropNamespace(ns);
});

async function daemon(namespace: string, port: number) {
  const env = daemonEnv(namespace, {
    OVERSEER_HEARTBEAT_INTERVAL_MS: "250",
    OVERSEER_AGENT_DEAD_AFTER_MS: "1000",
    OVERSEER_PIPELINE_SWEEP_INTERVAL_MS: "250",
  });
  const proc = await spawnDaemon(env, port);
  procs.push(proc);
  return proc;
}

async function agent(url: string, name: string, workMs: number): Promise<AgentProcess> {
  const a = await spawnAgent({ url, name, capabilities: CAPS, concurrency: 8, workMs });
  procs.push(a.proc);
  return a;
}

const runView = async (url: string, id: string) =>
  (await call(url, "GET", `/api/pipelines/runs/${id}`, { token: TOKENS.viewer })).body;

it("a run whose agent is SIGKILLed mid-step finishes on another agent", async () => {
  const namespace = freshNamespace();
  namespaces.push(namespace);
  const port = await getFreePort();
  const url = `http://127.0.0.1:${port}`;
  await daemon(namespace, port);
  const first = await agent(url, "first", 3_000);
  const { id } = (
    await call(url, "POST", "/api/pipelines/mission/runs", {
      token: TOKENS.operator,
      body: { input: { request: "kill the agent mid-step" } },
    })
  ).body;
  const running = await eventually(
    async () => {
      const v = await runView(url, id);
      const step = v.steps.find((s: { id: string }) => s.id === "intent");
      return step.state === "running" && step.agentId === first.id ? step : null;
    },
    15_000,
    "the intent step to run on the first agent",
  );
  const second = await agent(url, "second", 50);
  await killAndWait(first.proc, "SIGKILL");
  const done = await eventually(
    async () => {
      const v = await runView(url, id);
      return v.state === "completed" ? v : null;
    },
    30_000,
    "the run to complete after the SIGKILL",
  );
  const task = (await call(url, "GET", `/api/tasks/${running.taskId}`, { token: TOKENS.viewer })).body;
  console.log(
    `pipeline acceptance 3a: intent step attempts ${JSON.stringify(task.attempts.map((a: { agentId: string; outcome: string }) => [a.agentId === first.id ? "first" : "second", a.outcome]))}`,
  );
  expect(task.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(["lost", "completed"]);
  expect(task.attempts[1].agentId).toBe(second.id);
  expect(done.percent).toBe(100);
}, 90_000);

it("a daemon SIGKILLed mid-run and started again: every run completes, no step completed twice", async () => {
  const namespace = freshNamespace();
  namespaces.push(namespace);
  const port = await getFreePort();
  const url = `http://127.0.0.1:${port}`;
  let d = await daemon(namespace, port);
  for (const name of ["a", "b", "c"]) await agent(url, name, 150);
  const ids: string[] = [];
  for (let i = 0; i < 30; i++) {
    const r = await call(url, "POST", "/api/pipelines/mission/runs", {
      token: TOKENS.operator,
      body: { input: { request: `run ${i}` } },
    });
    ids.push(r.body.id);
  }
  const db = await namespaceDb(namespace);
  const count = async (sql: string) => Number((await db.query(sql)).rows[0].n);
  await eventually(
    async () => (await count("SELECT count(*) AS n FROM pipeline_steps WHERE state = 'completed'")) >= 40,
    30_000,
    "some steps to complete",
  );
  const atKill = await count("SELECT count(*) AS n FROM pipeline_runs WHERE state = 'completed'");
  await killAndWait(d, "SIGKILL");
  d = await daemon(namespace, port);
  await eventually(
    async () => (await count("SELECT count(*) AS n FROM pipeline_runs WHERE state <> 'completed'")) === 0,
    60_000,
    "every run to complete after the restart",
  );
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
    `pipeline acceptance 3b: ${ids.length} runs, ${atKill} completed at the SIGKILL, all completed after restart; ` +
      `steps completed twice: ${twice}; steps with two tasks: ${stepTasks}; completed attempts ${completedAttempts} for ${agentSteps} agent steps`,
  );
  expect(twice).toBe(0);
  expect(stepTasks).toBe(0);
  expect(completedAttempts).toBe(agentSteps);
}, 150_000);
