import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { eventually } from "../../helpers/daemon-harness.ts";
import { namespaceDb } from "../../helpers/namespace-cleanup.ts";
import { type AgentProcess, killAndWait, spawnAgent } from "../../helpers/processes.ts";
import {
  type ReplicaMode,
  type ReplicaSet,
  replicaLabel,
  startReplicaSet,
} from "../../helpers/replica-set.ts";

/**
 * Acceptance 2: `tasks` tasks through 20 agent processes while 5 of them are killed (SIGKILL) and
 * restarted at random: every task completed exactly once according to Postgres; none lost. With N
 * replicas agent k starts on replica k mod N (every agent has every URL), a restarted agent starts
 * on its predecessor's replica, and submissions go round-robin over the replicas.
 */
const AGENTS = 20;
const KILLS = 5;
const TYPE = "accept.churn";

export function churnScenario(replicas: number, tasks: number, mode: ReplicaMode): void {
  let set: ReplicaSet;
  let dir: string;
  const running = new Map<string, AgentProcess>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "overseer-churn-"));
    // Liveness timings loose enough that 20 processes sharing 2 cores are not declared dead by mistake.
    set = await startReplicaSet({
      replicas,
      mode,
      env: {
        OVERSEER_HEARTBEAT_INTERVAL_MS: "250",
        OVERSEER_AGENT_DEAD_AFTER_MS: "2000",
        OVERSEER_DEFAULT_MAX_ATTEMPTS: "10",
      },
    });
  });
  afterAll(async () => {
    await Promise.all([...running.values()].map((a) => killAndWait(a.proc)));
    await set?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (name: string, k: number) =>
    spawnAgent({
      url: set.agentUrl(k),
      name,
      capabilities: [TYPE],
      concurrency: 8,
      workMs: 2,
      reportFile: join(dir, `${name}.jsonl`),
    }).then((a) => {
      running.set(name, a);
      return a;
    });

  it(`${tasks} tasks through ${AGENTS} agent processes with ${KILLS} killed and restarted: each completes exactly once`, async () => {
    const names = Array.from({ length: AGENTS }, (_, i) => `churn-${i}`);
    for (let i = 0; i < names.length; i += 5) {
      // Settled, not Promise.all: if one fails, the others are in `running` for afterAll to kill.
      const batch = await Promise.allSettled(names.slice(i, i + 5).map((name, j) => start(name, i + j)));
      for (const r of batch) if (r.status === "rejected") throw r.reason;
    }

    const started = Date.now();
    const accepted: string[] = [];
    const submitAll = (async () => {
      for (let i = 0; i < tasks; i += 50) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(50, tasks - i) }, (_, j) =>
            set.api("POST", "/api/tasks", { body: { type: TYPE, payload: { n: i + j } } }),
          ),
        );
        for (const r of batch) {
          expect(r.status).toBe(202);
          accepted.push(r.body.id);
        }
      }
    })();

    // Kill five distinct agents at random moments while work flows, and start a replacement for each.
    const db = await namespaceDb(set.namespace);
    const completed = async () =>
      Number((await db.query("SELECT count(*) FROM tasks WHERE state = 'completed'")).rows[0].count);
    const victims = [...names].sort(() => Math.random() - 0.5).slice(0, KILLS);
    const timeline: string[] = [];
    for (const [k, name] of victims.entries()) {
      await eventually(
        async () => (await completed()) >= ((k + 1) * tasks) / (KILLS + 2),
        120_000,
        `progress before kill ${k}`,
      );
      const victim = running.get(name)!;
      await killAndWait(victim.proc);
      running.delete(name);
      timeline.push(`${Date.now() - started} ms: SIGKILL ${name} (${await completed()} completed)`);
      await start(`${name}-restarted`, names.indexOf(name));
      timeline.push(`${Date.now() - started} ms: started ${name}-restarted`);
    }
    await submitAll;
    await eventually(async () => (await completed()) === tasks, 240_000, "every task to complete");
    const elapsed = Date.now() - started;

    const states = await db.query(`SELECT state, count(*)::int AS n FROM tasks GROUP BY state`);
    const perTask = await db.query(
      `SELECT count(*) FILTER (WHERE c = 1)::int AS once, count(*) FILTER (WHERE c <> 1)::int AS other FROM
         (SELECT t.id, count(a.*) FILTER (WHERE a.outcome = 'completed') AS c FROM tasks t
          LEFT JOIN task_attempts a ON a.task_id = t.id GROUP BY t.id) x`,
    );
    const outcomes = await db.query(
      "SELECT outcome, count(*)::int AS n FROM task_attempts GROUP BY outcome ORDER BY outcome",
    );
    await db.end();

    // The clients' own records: no task reported completed twice.
    const reported = new Map<string, number>();
    for (const name of [...names, ...victims.map((v) => `${v}-restarted`)]) {
      let text = "";
      try {
        text = readFileSync(join(dir, `${name}.jsonl`), "utf8");
      } catch {
        continue;
      }
      for (const line of text.split("\n")) {
        if (!line) continue;
        const e = JSON.parse(line);
        if (e.event === "completed") reported.set(e.taskId, (reported.get(e.taskId) ?? 0) + 1);
      }
    }
    const twice = [...reported.values()].filter((n) => n > 1).length;

    console.log(
      [
        `acceptance-2 [${replicaLabel(replicas)}]: ${tasks} tasks, ${AGENTS} agents, ${KILLS} SIGKILLed and restarted, done in ${elapsed} ms`,
        ...timeline.map((t) => `  ${t}`),
        `  tasks by state: ${JSON.stringify(states.rows)}`,
        `  attempts by outcome: ${JSON.stringify(outcomes.rows)}`,
        `  tasks completed exactly once: ${perTask.rows[0].once}, otherwise: ${perTask.rows[0].other}`,
        `  agent-side completion reports: ${reported.size} distinct tasks, ${twice} reported twice`,
      ].join("\n"),
    );
    expect(accepted).toHaveLength(tasks);
    expect(new Set(accepted).size).toBe(tasks);
    expect(states.rows).toEqual([{ state: "completed", n: tasks }]);
    expect(perTask.rows[0]).toEqual({ once: tasks, other: 0 });
    expect(twice).toBe(0);
  }, 400_000);
}
