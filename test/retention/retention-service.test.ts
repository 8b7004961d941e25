import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { OverseerEvent } from "../../daemon/events/catalogue.ts";
import { EventBus } from "../../daemon/events/event-bus.ts";
import { actAsLeader, FencedError, type LeaderTerm } from "../../daemon/leader/fence-context.ts";
import type { RetentionKeep } from "../../daemon/retention/retention-policy.ts";
import { retentionPurges } from "../../daemon/retention/retention-purges.ts";
import { RetentionService } from "../../daemon/retention/retention-service.ts";
import { migrate } from "../../daemon/store/migrate.ts";
import { createPool, type Db } from "../../daemon/store/pg-pool.ts";
import { TaskStore } from "../../daemon/store/task-store.ts";
import { OverseerMetrics } from "../../daemon/telemetry/metrics.ts";
import { dropNamespace } from "../helpers/namespace-cleanup.ts";
import { DATABASE_URL, freshNamespace } from "../helpers/test-env.ts";

/** Retention against the real Postgres: rows are written with explicit times around an injected now. */
const ns = freshNamespace();
let db: Db;
const NOW = Date.parse("2026-03-01T12:00:00Z");
const H = 3_600_000;
const ago = (hours: number) => new Date(NOW - hours * H);
const KEEP: RetentionKeep = {
  tasksMs: 24 * H,
  runsMs: 24 * H,
  historyMs: 24 * H,
  llmCallsMs: 48 * H,
  auditMs: 72 * H,
};
const FOREVER: RetentionKeep = { tasksMs: 0, runsMs: 0, historyMs: 0, llmCallsMs: 0, auditMs: 0 };
let token = 0;

beforeAll(async () => {
  db = createPool(DATABASE_URL, ns, { max: 3 });
  await migrate(db, ns, () => {});
  await db.query(
    "INSERT INTO pipeline_templates (name, version, definition, source) VALUES ('t', 1, '{}'::jsonb, 'api')",
  );
});
afterAll(async () => {
  await db.end();
  await dropNamespace(ns);
});
beforeEach(async () => {
  await db.query(`TRUNCATE tasks, task_attempts, task_archive, agents, agent_transitions, pipeline_runs,
    pipeline_steps, pipeline_events, artifacts, conversations, conversation_messages, budget_approvals,
    llm_calls, feedback, audit_log, schedules, schedule_ticks, confirmations, overrides, leader_fence CASCADE`);
});

function service(
  keep: RetentionKeep,
  opts: {
    batchSize?: number;
    maxStatementsPerTarget?: number;
    onAgentsDeleted?: (ids: string[]) => Promise<void>;
  } = {},
) {
  const bus = new EventBus(() => NOW);
  const events: OverseerEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const metrics = new OverseerMetrics();
  bus.subscribe(metrics.onEvent);
  const svc = new RetentionService(
    db,
    retentionPurges({ tasks: new TaskStore(db, { delayMs: () => 0 }) }),
    bus,
    {
      keep,
      now: () => NOW,
      ...opts,
    },
  );
  return { svc, events, metrics };
}

async function agent(state: string, changedHoursAgo: number): Promise<string> {
  const id = randomUUID();
  await db.query(
    `INSERT INTO agents (id, name, role, capabilities, concurrency, state, registered_at, state_changed_at)
     VALUES ($1, $4, 'r', '{}', 1, $2, $3, $3)`,
    [id, state, ago(changedHoursAgo), `agent-${id}`],
  );
  await db.query("INSERT INTO agent_transitions (agent_id, at, to_state) VALUES ($1, $2, $3)", [
    id,
    ago(changedHoursAgo),
    state,
  ]);
  return id;
}

async function task(state: string, finishedHoursAgo: number | null, agentId?: string): Promise<string> {
  const id = randomUUID();
  const active = state === "active";
  await db.query(
    `INSERT INTO tasks (id, type, payload, max_attempts, timeout_ms, state, lease_token, lease_agent_id, finished_at)
     VALUES ($1, 'x', '{}', 3, 1000, $2, $3, $4, $5)`,
    [
      id,
      state,
      active ? ++token : null,
      active ? (agentId ?? null) : null,
      finishedHoursAgo === null ? null : ago(finishedHoursAgo),
    ],
  );
  if (agentId) {
    await db.query(
      `INSERT INTO task_attempts (task_id, attempt, agent_id, lease_token, claimed_at, finished_at, outcome)
       VALUES ($1, 1, $2, $3, $4, $4, $5)`,
      [id, agentId, ++token, ago(finishedHoursAgo ?? 0), active ? null : "completed"],
    );
  }
  return id;
}

async function run(state: string, finishedHoursAgo: number | null, taskId?: string): Promise<string> {
  const id = randomUUID();
  await db.query(
    `INSERT INTO pipeline_runs (id, template, template_version, input, state, finished_at)
     VALUES ($1, 't', 1, '{}', $2, $3)`,
    [id, state, finishedHoursAgo === null ? null : ago(finishedHoursAgo)],
  );
  await db.query(
    "INSERT INTO pipeline_steps (run_id, step_id, position, state, task_id) VALUES ($1, 'a', 0, 'completed', $2)",
    [id, taskId ?? null],
  );
  await db.query("INSERT INTO pipeline_events (run_id, type) VALUES ($1, 'e'), ($1, 'f')", [id]);
  await db.query(
    "INSERT INTO artifacts (id, run_id, type, title, content, created_by) VALUES ($1, $2, 'text', 't', 'c', 'me')",
    [randomUUID(), id],
  );
  const conv = randomUUID();
  await db.query(
    "INSERT INTO conversations (id, run_id, step_id, title, state) VALUES ($1, $2, 'a', 't', 'completed')",
    [conv, id],
  );
  await db.query(
    "INSERT INTO conversation_messages (conversation_id, role, author, content) VALUES ($1, 'user', 'me', 'hi'), ($1, 'assistant', 'm', 'yo')",
    [conv],
  );
  await db.query(
    "INSERT INTO budget_approvals (run_id, step_id, generation, state, reason) VALUES ($1, 'a', 0, 'approved', '{}')",
    [id],
  );
  return id;
}

const count = async (table: string, where = "true") =>
  Number((await db.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`)).rows[0].n);

describe("RetentionService", () => {
  it("deletes terminal tasks older than the keep with their attempts; keeps young and unfinished ones", async () => {
    const worker = await agent("active", 1);
    const oldDone = await Promise.all(
      ["completed", "failed", "dead", "cancelled"].map((s) => task(s, 30, worker)),
    );
    const young = await task("completed", 2, worker);
    const queued = await task("queued", null);
    const active = await task("active", null, worker);
    const archived = await task("archived", 30);
    // A finished task whose step belongs to a run still open stays: the run's sweep reads it.
    const stepTask = await task("completed", 30);
    await run("running", null, stepTask);

    const { svc } = service(KEEP);
    const result = await svc.run();
    expect(result.deleted.tasks).toBe(4);
    expect(result.deleted.task_attempts).toBe(4);
    const left = (await db.query<{ id: string }>("SELECT id FROM tasks")).rows.map((r) => r.id).sort();
    expect(left).toEqual([young, queued, active, archived, stepTask].sort());
    expect(await count("task_attempts", `task_id = ANY('{${oldDone.join(",")}}')`)).toBe(0);
    expect(await count("task_attempts")).toBe(2);
  });

  it("deletes finished runs with every dependent row; keeps open and young runs", async () => {
    const old = await run("completed", 30);
    const oldFailed = await run("failed", 30);
    const young = await run("completed", 1);
    const open = await run("running", null);
    const { svc } = service(KEEP);
    const r = await svc.run();
    expect(r.deleted).toMatchObject({
      pipeline_runs: 2,
      pipeline_steps: 2,
      pipeline_events: 4,
      artifacts: 2,
      conversations: 2,
      conversation_messages: 4,
      budget_approvals: 2,
    });
    const left = (await db.query<{ id: string }>("SELECT id FROM pipeline_runs")).rows
      .map((x) => x.id)
      .sort();
    expect(left).toEqual([young, open].sort());
    for (const t of ["pipeline_steps", "pipeline_events", "artifacts", "conversations", "budget_approvals"])
      expect(await count(t, `run_id IN ('${old}', '${oldFailed}')`)).toBe(0);
    expect(await count("conversation_messages")).toBe(4);
  });

  it("deletes long-gone agents nothing points at, with their transitions", async () => {
    const gone = await agent("left", 30);
    const dead = await agent("dead", 30);
    const withYoungAttempt = await agent("dead", 30);
    await task("completed", 1, withYoungAttempt);
    const withLlmCall = await agent("dead", 30);
    await db.query(
      `INSERT INTO llm_calls (id, at, agent_id, role, provider, model, source, input_tokens, output_tokens,
         tokens_counted, cost_usd, priced, latency_ms, status)
       VALUES ($1, $2, $3, 'r', 'p', 'm', 's', 1, 1, true, 0, true, 1, 'ok')`,
      [randomUUID(), ago(30), withLlmCall],
    );
    const recentlyDead = await agent("dead", 1);
    const live = await agent("active", 30);
    const forgotten: string[] = [];
    const { svc } = service(KEEP, {
      onAgentsDeleted: async (ids) => {
        forgotten.push(...ids);
      },
    });
    const r = await svc.run();
    expect(r.deleted.agents).toBe(2);
    // The deleted ids are handed on, so the daemon drops them from the Redis state mirror too.
    expect(forgotten.sort()).toEqual([gone, dead].sort());
    expect(r.deleted).not.toHaveProperty("agent_ids");
    const left = (await db.query<{ id: string }>("SELECT id FROM agents")).rows.map((x) => x.id).sort();
    expect(left).toEqual([withYoungAttempt, withLlmCall, recentlyDead, live].sort());
    expect(await count("agent_transitions", `agent_id IN ('${gone}', '${dead}')`)).toBe(0);
    // History of a live agent older than the keep goes too; the agent stays.
    expect(await count("agent_transitions", `agent_id = '${live}'`)).toBe(0);
    expect(await count("agent_transitions", `agent_id = '${recentlyDead}'`)).toBe(1);
  });

  it("deletes schedule ticks but each schedule's latest, expired confirmations, and LLM calls, feedback and audit by their own keeps", async () => {
    const sid = randomUUID();
    await db.query(
      "INSERT INTO schedules (id, name, template, input, cron, state) VALUES ($1, 's', 't', '{}', '* * * * *', 'active')",
      [sid],
    );
    for (const h of [50, 40, 30])
      await db.query("INSERT INTO schedule_ticks (schedule_id, tick_at, fired_at) VALUES ($1, $2, $2)", [
        sid,
        ago(h),
      ]);
    await db.query(
      `INSERT INTO confirmations (token_hash, action, params_digest, actor, created_at, expires_at, used_at)
       VALUES ('old', 'a', 'd', 'me', $1, $1, $1), ('young', 'a', 'd', 'me', $2, $2, NULL)`,
      [ago(30), ago(1)],
    );
    const llm = (h: number) =>
      db.query(
        `INSERT INTO llm_calls (id, at, agent_id, role, provider, model, source, input_tokens, output_tokens,
           tokens_counted, cost_usd, priced, latency_ms, status)
         VALUES ($1, $2, $3, 'r', 'p', 'm', 's', 1, 1, true, 0, true, 1, 'ok')`,
        [randomUUID(), ago(h), randomUUID()],
      );
    await llm(60);
    await llm(30); // older than the tasks' keep, younger than the LLM keep (48 h)
    const fb = (h: number) =>
      db.query(
        "INSERT INTO feedback (id, at, target_kind, call_id, score, author) VALUES ($1, $2, 'llm_call', $3, 3, 'me')",
        [randomUUID(), ago(h), randomUUID()],
      );
    await fb(60);
    await fb(30);
    for (const h of [80, 60])
      await db.query(
        "INSERT INTO audit_log (at, actor, action, target_kind, target_id) VALUES ($1, 'me', 'a', 'k', 'i')",
        [ago(h)],
      );
    const { svc } = service(KEEP);
    const r = await svc.run();
    expect(r.deleted).toMatchObject({
      schedule_ticks: 2,
      confirmations: 1,
      llm_calls: 1,
      feedback: 1,
      audit_log: 1,
    });
    expect(await count("schedule_ticks")).toBe(1);
    expect((await db.query("SELECT token_hash FROM confirmations")).rows).toEqual([{ token_hash: "young" }]);
    expect(await count("llm_calls")).toBe(1);
    expect(await count("feedback")).toBe(1);
    expect(await count("audit_log")).toBe(1);
  });

  it("keeps everything when every keep is 0", async () => {
    const worker = await agent("dead", 1000);
    await task("completed", 1000, worker);
    await run("completed", 1000);
    const { svc, events } = service(FOREVER);
    const r = await svc.run();
    expect(r).toMatchObject({ deleted: {}, statements: 0, complete: true });
    expect(await count("tasks")).toBe(1);
    expect(await count("pipeline_runs")).toBe(1);
    expect(await count("agents")).toBe(1);
    expect(events.filter((e) => e.type === "retention.completed")).toHaveLength(1);
  });

  it("deletes in bounded batches, leaves the rest for the next pass, and reports it in the event and metric", async () => {
    for (let i = 0; i < 45; i++) await task("completed", 30 + i);
    const { svc, events, metrics } = service(
      { ...FOREVER, tasksMs: 24 * H },
      { batchSize: 10, maxStatementsPerTarget: 2 },
    );
    const first = await svc.run();
    expect(first).toMatchObject({ deleted: { tasks: 20 }, statements: 2, complete: false });
    expect(await count("tasks")).toBe(25);
    // Oldest first: what is left is the youngest 25.
    expect(await count("tasks", `finished_at > '${ago(30 + 25).toISOString()}'`)).toBe(25);
    const second = await svc.run();
    expect(second).toMatchObject({ deleted: { tasks: 20 }, statements: 2, complete: false });
    const third = await svc.run();
    expect(third).toMatchObject({ deleted: { tasks: 5 }, statements: 1, complete: true });
    expect(await count("tasks")).toBe(0);

    const passes = events.filter((e) => e.type === "retention.completed");
    expect(passes.map((e) => (e.type === "retention.completed" ? e.deleted.tasks : 0))).toEqual([20, 20, 5]);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^overseer_retention_deleted_rows_total\{table="tasks"\} 45$/m);
  });

  it("as the leader, checks the fence in every batch: a superseded term deletes nothing", async () => {
    for (let i = 0; i < 15; i++) await task("completed", 30 + i);
    await db.query(
      "INSERT INTO leader_fence (id, epoch, replica_id, installed_at) VALUES (1, 7, 'r1', now())",
    );
    const actions: Date[] = [];
    const fenced: number[] = [];
    const term = (epoch: number): LeaderTerm => ({
      epoch,
      replicaId: "r1",
      idleTimeoutMs: 5_000,
      onFenced: (e) => fenced.push(e.epoch),
      onAction: (at) => actions.push(at),
    });
    const { svc } = service({ ...FOREVER, tasksMs: 24 * H }, { batchSize: 10 });
    await expect(actAsLeader(term(6), () => svc.run())).rejects.toBeInstanceOf(FencedError);
    expect(fenced).toEqual([6]);
    expect(await count("tasks")).toBe(15);
    // The current term: each of the two batches passed the fence check once.
    const r = await actAsLeader(term(7), () => svc.run());
    expect(r).toMatchObject({ deleted: { tasks: 15 }, statements: 2, complete: true });
    expect(actions).toHaveLength(2);
  });
});
