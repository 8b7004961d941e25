import type pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { OverseerEvent } from "../../daemon/events/catalogue.ts";
import { eventually, startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { TOKENS } from "../helpers/test-env.ts";

let d: TestDaemon;
let db: pg.Client;
const events: OverseerEvent[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const EVERY_SECOND = "*/1 * * * * *";

beforeAll(async () => {
  d = await startTestDaemon({ OVERSEER_SCHEDULE_INTERVAL_MS: "100" });
  d.daemon.bus.subscribe((e) => events.push(e));
  db = await namespaceDb(d.namespace);
});
afterAll(async () => {
  await db?.end();
  await d?.close();
});

const count = async (sql: string, args: unknown[] = []) =>
  (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, args)).rows[0]?.n;

it("creates, lists, reads, pauses, resumes and deletes a schedule, with events and audit rows", async () => {
  const created = await d.api("POST", "/api/schedules", {
    body: {
      name: "weekday-mission",
      template: "mission",
      input: { request: "morning report" },
      cron: "0 9 * * 1-5",
      timezone: "Europe/Paris",
    },
  });
  expect(created.status).toBe(201);
  const s = created.body;
  expect(s).toMatchObject({
    name: "weekday-mission",
    template: "mission",
    kind: "cron",
    cron: "0 9 * * 1-5",
    timezone: "Europe/Paris",
    state: "active",
    runAt: null,
    lastTickAt: null,
  });
  // 09:00 in Paris is 07:00 or 08:00 UTC, on a weekday, in the future.
  const next = new Date(s.nextRunAt);
  expect(next.getTime()).toBeGreaterThan(Date.now());
  expect([7, 8]).toContain(next.getUTCHours());
  expect([1, 2, 3, 4, 5]).toContain(next.getUTCDay());

  const viewerCreate = await d.api("POST", "/api/schedules", {
    token: TOKENS.viewer,
    body: { name: "nope", template: "mission", input: { request: "x" }, cron: "0 9 * * *" },
  });
  expect(viewerCreate.status).toBe(403);
  const duplicate = await d.api("POST", "/api/schedules", {
    body: { name: "weekday-mission", template: "mission", input: { request: "x" }, cron: "0 9 * * *" },
  });
  expect(duplicate.status).toBe(409);
  expect(duplicate.body.error.code).toBe("OVS_ERR_SCHEDULE_CONFLICT");

  const list = await d.api("GET", "/api/schedules", { token: TOKENS.viewer });
  expect(list.status).toBe(200);
  expect(list.body.schedules.map((x: { id: string }) => x.id)).toContain(s.id);
  const got = await d.api("GET", `/api/schedules/${s.id}`, { token: TOKENS.viewer });
  expect(got.status).toBe(200);
  expect(got.body).toMatchObject({ id: s.id, state: "active", ticks: [] });

  const paused = await d.api("POST", `/api/schedules/${s.id}/pause`, { body: { reason: "holiday" } });
  expect(paused.status).toBe(200);
  expect(paused.body).toMatchObject({ state: "paused", nextRunAt: null });
  expect((await d.api("POST", `/api/schedules/${s.id}/pause`)).body.state).toBe("paused");
  const pausedList = await d.api("GET", "/api/schedules?state=paused", { token: TOKENS.viewer });
  expect(pausedList.body.schedules.map((x: { id: string }) => x.id)).toEqual([s.id]);
  const resumed = await d.api("POST", `/api/schedules/${s.id}/resume`);
  expect(resumed.status).toBe(200);
  expect(resumed.body.state).toBe("active");
  expect(new Date(resumed.body.nextRunAt).getTime()).toBeGreaterThan(Date.now());

  const viewerDelete = await d.api("DELETE", `/api/schedules/${s.id}`, { token: TOKENS.viewer });
  expect(viewerDelete.status).toBe(403);
  const deleted = await d.api("DELETE", `/api/schedules/${s.id}`);
  expect(deleted.status).toBe(204);
  const gone = await d.api("GET", `/api/schedules/${s.id}`);
  expect(gone.status).toBe(404);
  expect(gone.body.error.code).toBe("OVS_ERR_SCHEDULE_NOT_FOUND");
  expect((await d.api("DELETE", `/api/schedules/${s.id}`)).status).toBe(404);
  expect((await d.api("POST", `/api/schedules/${s.id}/resume`)).status).toBe(404);

  const audit = await db.query<{ action: string; actor: string; reason: string | null }>(
    "SELECT action, actor, reason FROM audit_log WHERE target_kind = 'schedule' AND target_id = $1 ORDER BY id",
    [s.id],
  );
  // The no-op second pause is not an action.
  expect(audit.rows.map((r) => r.action)).toEqual([
    "schedule.create",
    "schedule.pause",
    "schedule.resume",
    "schedule.delete",
  ]);
  expect(audit.rows[0]?.actor).toBe("operator");
  expect(audit.rows[1]?.reason).toBe("holiday");
  const mine = events.filter(
    (e) => e.type.startsWith("schedule.") && "scheduleId" in e && e.scheduleId === s.id,
  );
  expect(mine.map((e) => [e.type, "state" in e ? e.state : null])).toEqual([
    ["schedule.saved", null],
    ["schedule.state_changed", "paused"],
    ["schedule.state_changed", "active"],
    ["schedule.deleted", null],
  ]);
});

it("rejects a bad cron, a bad time zone, a past runAt, an unknown template and a misfit input, storing nothing", async () => {
  const base = { template: "mission", input: { request: "x" } };
  const cases: [string, Record<string, unknown>, number, string][] = [
    ["bad-cron", { ...base, cron: "61 * * * *" }, 400, "OVS_ERR_SCHEDULE_INVALID"],
    ["bad-fields", { ...base, cron: "* * * *" }, 400, "OVS_ERR_SCHEDULE_INVALID"],
    [
      "bad-tz",
      { ...base, cron: "0 9 * * *", timezone: "Mars/Olympus_Mons" },
      400,
      "OVS_ERR_SCHEDULE_INVALID",
    ],
    [
      "bad-past",
      { ...base, runAt: new Date(Date.now() - 60_000).toISOString() },
      400,
      "OVS_ERR_SCHEDULE_INVALID",
    ],
    [
      "bad-both",
      { ...base, cron: "0 9 * * *", runAt: new Date(Date.now() + 60_000).toISOString() },
      400,
      "OVS_ERR_SCHEDULE_INVALID",
    ],
    ["bad-neither", { ...base }, 400, "OVS_ERR_SCHEDULE_INVALID"],
    [
      "bad-template",
      { template: "no-such-template", input: {}, cron: "0 9 * * *" },
      404,
      "OVS_ERR_TEMPLATE_NOT_FOUND",
    ],
    [
      "bad-input",
      { template: "mission", input: { budgetUsd: 3 }, cron: "0 9 * * *" },
      400,
      "OVS_ERR_VALIDATION",
    ],
    [
      "bad-input-type",
      { template: "mission", input: { request: 42 }, cron: "0 9 * * *" },
      400,
      "OVS_ERR_VALIDATION",
    ],
    ["bad-runat-format", { ...base, runAt: "tomorrow" }, 400, "OVS_ERR_VALIDATION"],
  ];
  for (const [name, body, status, code] of cases) {
    const r = await d.api("POST", "/api/schedules", { body: { name, ...body } });
    expect([name, r.status, r.body.error?.code]).toEqual([name, status, code]);
  }
  expect(await count("schedules WHERE name LIKE 'bad-%'")).toBe(0);
  expect(await count("audit_log WHERE target_kind = 'schedule' AND data->>'name' LIKE 'bad-%'")).toBe(0);
});

it("fires a one-off schedule once, then it is done", async () => {
  const runAt = new Date(Date.now() + 1_000).toISOString();
  const created = await d.api("POST", "/api/schedules", {
    body: { name: "once", template: "mission", input: { request: "x" }, runAt },
  });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ kind: "once", state: "active", runAt, nextRunAt: runAt });
  const id = created.body.id;
  const done = await eventually(
    async () => {
      const r = await d.api("GET", `/api/schedules/${id}`, { token: TOKENS.viewer });
      return r.body.state === "done" ? r.body : null;
    },
    10_000,
    "the one-off schedule to fire",
  );
  expect(done).toMatchObject({ nextRunAt: null, lastTickAt: runAt });
  expect(done.ticks).toHaveLength(1);
  expect(done.ticks[0]).toMatchObject({ tickAt: runAt, runId: expect.any(String) });
  const run = await d.api("GET", `/api/pipelines/runs/${done.ticks[0].runId}`, { token: TOKENS.viewer });
  expect(run.body).toMatchObject({ template: "mission", scheduleId: id, input: { request: "x" } });
  await sleep(500);
  expect(await count("pipeline_runs WHERE schedule_id = $1", [id])).toBe(1);
  expect(events.filter((e) => e.type === "schedule.fired" && e.scheduleId === id)).toHaveLength(1);
  const resume = await d.api("POST", `/api/schedules/${id}/resume`);
  expect(resume.status).toBe(409);
  expect(resume.body.error.code).toBe("OVS_ERR_SCHEDULE_STATE_CONFLICT");
});

it("after downtime, fires one catch-up run and skips the other missed ticks", async () => {
  const created = await d.api("POST", "/api/schedules", {
    body: { name: "every-minute", template: "mission", input: { request: "x" }, cron: "* * * * *" },
  });
  const id = created.body.id;
  await d.api("POST", `/api/schedules/${id}/pause`);
  // As if every replica had been down for ten minutes: ten ticks were missed.
  const missed = await db.query<{ next_run_at: Date }>(
    `UPDATE schedules SET state = 'active', next_run_at = date_trunc('minute', now()) - interval '10 minutes'
     WHERE id = $1 RETURNING next_run_at`,
    [id],
  );
  const view = await eventually(
    async () => {
      const r = await d.api("GET", `/api/schedules/${id}`, { token: TOKENS.viewer });
      return r.body.ticks.length > 0 ? r.body : null;
    },
    5_000,
    "the catch-up tick",
  );
  await sleep(500);
  const again = (await d.api("GET", `/api/schedules/${id}`, { token: TOKENS.viewer })).body;
  expect(again.ticks).toHaveLength(1);
  expect(again.ticks[0]).toMatchObject({
    tickAt: missed.rows[0]?.next_run_at.toISOString(),
    runId: expect.any(String),
  });
  // The next run is the first tick after now: the nine later missed ticks are skipped.
  const missedAt = (missed.rows[0] as { next_run_at: Date }).next_run_at.getTime();
  expect(new Date(view.nextRunAt).getTime()).toBeGreaterThanOrEqual(missedAt + 11 * 60_000);
  expect(await count("pipeline_runs WHERE schedule_id = $1", [id])).toBe(1);
  await d.api("POST", `/api/schedules/${id}/pause`);
});

it("two replicas on one namespace fire each tick of an every-second schedule exactly once", async () => {
  const d2 = await startTestDaemon({ OVERSEER_SCHEDULE_INTERVAL_MS: "100" }, d.namespace);
  const fired = new Map<string, number>();
  for (const [label, daemon] of [
    ["d1", d],
    ["d2", d2],
  ] as const) {
    daemon.daemon.bus.subscribe((e) => {
      if (e.type === "schedule.fired") fired.set(label, (fired.get(label) ?? 0) + 1);
    });
  }
  let id = "";
  try {
    const created = await d.api("POST", "/api/schedules", {
      body: { name: "every-second", template: "mission", input: { request: "x" }, cron: EVERY_SECOND },
    });
    expect(created.status).toBe(201);
    id = created.body.id;
    await sleep(4_200);
    // Pausing waits for a tick in progress (it holds the row); after it, nothing more fires.
    expect((await d2.api("POST", `/api/schedules/${id}/pause`)).body.state).toBe("paused");
  } finally {
    await d2.close({ keepData: true });
  }
  const ticks = await db.query<{ tick_at: Date; run_id: string | null }>(
    "SELECT tick_at, run_id FROM schedule_ticks WHERE schedule_id = $1 ORDER BY tick_at",
    [id],
  );
  expect(ticks.rows.length).toBeGreaterThanOrEqual(3);
  for (const t of ticks.rows) {
    expect(t.run_id).toEqual(expect.any(String));
    expect(t.tick_at.getUTCMilliseconds()).toBe(0);
  }
  expect(new Set(ticks.rows.map((t) => t.run_id)).size).toBe(ticks.rows.length);
  expect(await count("pipeline_runs WHERE schedule_id = $1", [id])).toBe(ticks.rows.length);
  // Every run is one of the ticks' runs.
  expect(
    await count(
      "pipeline_runs r WHERE r.schedule_id = $1 AND NOT EXISTS (SELECT 1 FROM schedule_ticks t WHERE t.run_id = r.id)",
      [id],
    ),
  ).toBe(0);
  expect((fired.get("d1") ?? 0) + (fired.get("d2") ?? 0)).toBe(ticks.rows.length);
  console.log(
    `schedules: ${ticks.rows.length} ticks, ${ticks.rows.length} runs, fired by replica d1 ${fired.get("d1") ?? 0} / d2 ${fired.get("d2") ?? 0}`,
  );
  const view = await d.api("GET", `/api/schedules/${id}`, { token: TOKENS.viewer });
  expect(view.body.ticks).toHaveLength(Math.min(20, ticks.rows.length));
  expect(view.body.lastTickAt).toBe(ticks.rows.at(-1)?.tick_at.toISOString());
});

it("a tick whose run cannot be created is recorded without a run, and the schedule moves on", async () => {
  const template = (parameters: Record<string, unknown>) => ({
    name: "sched-t",
    parameters,
    steps: [{ id: "finalize", name: "Finalize", executor: { kind: "builtin", name: "finalize" } }],
  });
  const v1 = await d.api("PUT", "/api/pipelines/templates/sched-t", {
    body: template({ x: { type: "string" } }),
  });
  expect(v1.status).toBe(201);
  const created = await d.api("POST", "/api/schedules", {
    body: { name: "breaks-later", template: "sched-t", input: {}, cron: EVERY_SECOND },
  });
  expect(created.status).toBe(201);
  const id = created.body.id;
  // A new version the stored input no longer fits.
  const v2 = await d.api("PUT", "/api/pipelines/templates/sched-t", {
    body: template({ x: { type: "string" }, y: { type: "string", required: true } }),
  });
  expect(v2.status).toBe(201);
  const broken = await eventually(
    async () => {
      const r = await db.query<{ tick_at: Date }>(
        "SELECT tick_at FROM schedule_ticks WHERE schedule_id = $1 AND run_id IS NULL ORDER BY tick_at LIMIT 1",
        [id],
      );
      return r.rows[0];
    },
    5_000,
    "a tick without a run",
  );
  // Still active, and later ticks are still taken (each reported, none retried forever).
  await eventually(
    async () => {
      const later = await count("schedule_ticks WHERE schedule_id = $1 AND tick_at > $2", [
        id,
        broken.tick_at,
      ]);
      return (later ?? 0) > 0;
    },
    5_000,
    "a later tick",
  );
  const view = await d.api("POST", `/api/schedules/${id}/pause`);
  expect(view.body.state).toBe("paused");
  expect(await count("schedule_ticks WHERE schedule_id = $1 AND run_id IS NULL", [id])).toBeGreaterThan(0);
});
