import { randomUUID } from "node:crypto";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIGURES, type Figure, type FigureId } from "../../contract/figures.ts";
import { runCli } from "../cli/cli-process.ts";
import { eventually, startTestDaemon, type TestAgent, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { type PrometheusServer, startPrometheus } from "../helpers/prometheus-server.ts";
import { TOKENS } from "../helpers/test-env.ts";
import { type FeedClient, openFeed } from "../ws/ws-client.ts";

/**
 * One known history, seeded through the API as agents and operators make it (completions, a
 * failure retried, dead letters, a cancelled run with a claimed task, LLM calls with prices), then
 * frozen; every surface that shows a figure of contract/figures.ts must report the value computed
 * by hand from that history: the API routes, /metrics through a real Prometheus, the CLI's --json
 * and the WebSocket snapshot. The table printed is the closing note.
 */

// USD per million tokens: 1200 in + 300 out = 0.003 + 0.003; 400 in + 100 out = 0.001 + 0.001.
const PRICING = { "fig-gpt": { inputPerMTok: 2.5, outputPerMTok: 10 } };

let d: TestDaemon;
let db: pg.Client;
let prom: PrometheusServer;
let agent: TestAgent;
let feed: FeedClient | undefined;

const viewer = { token: TOKENS.viewer };

async function claim(type: string): Promise<{ id: string; leaseToken: string; type: string }> {
  const r = await d.api("POST", `/api/agents/${agent.id}/claim`, {
    token: agent.token,
    body: { max: 1, waitMs: 5_000 },
  });
  const t = r.body.tasks?.[0];
  if (!t) throw new Error(`nothing to claim for ${type}: ${r.status} ${r.text}`);
  expect(t.type).toBe(type);
  return t;
}
const complete = async (t: { id: string; leaseToken: string }) =>
  expect(
    (
      await d.api("POST", `/api/tasks/${t.id}/complete`, {
        token: agent.token,
        body: { leaseToken: t.leaseToken, result: { ok: true } },
      })
    ).status,
  ).toBe(200);
const fail = async (t: { id: string; leaseToken: string }, retryable: boolean) =>
  expect(
    (
      await d.api("POST", `/api/tasks/${t.id}/fail`, {
        token: agent.token,
        body: { leaseToken: t.leaseToken, error: { message: "seeded failure", retryable } },
      })
    ).status,
  ).toBe(200);
const submit = async (maxAttempts: number) => {
  const r = await d.api("POST", "/api/tasks", { body: { type: "fig.t", payload: {}, maxAttempts } });
  expect(r.status).toBe(202);
  return r.body.id as string;
};
const template = (name: string, capability: string) =>
  d.api("PUT", `/api/pipelines/templates/${name}`, {
    body: {
      name,
      steps: [
        { id: "work", name: "Work", executor: { kind: "agent", capability }, retry: { maxAttempts: 1 } },
      ],
    },
  });
const startRun = async (name: string) => {
  const r = await d.api("POST", `/api/pipelines/${name}/runs`, { body: { input: {} } });
  expect(r.status, r.text).toBe(202);
  return r.body.id as string;
};
const runState = (id: string, state: string) =>
  eventually(
    async () =>
      (await d.api("GET", `/api/pipelines/runs/${id}`, viewer)).body.state === state ? true : null,
    20_000,
    `run ${id} ${state}`,
  );

/** The hand-computed value of each figure, from the history seeded below. */
const expected: Partial<Record<FigureId, number | null>> = {};
/** What the empty system answered before anything was seeded. */
// biome-ignore lint/suspicious/noExplicitAny: the answers are read field by field.
let empty: { kpis: any; success: any; metrics: string };

beforeAll(async () => {
  d = await startTestDaemon({
    OVERSEER_LLM_PRICING: JSON.stringify(PRICING),
    OVERSEER_RETRY_BASE_MS: "50",
    OVERSEER_RETRY_MAX_MS: "100",
  });
  db = await namespaceDb(d.namespace);
  empty = {
    kpis: (await d.api("GET", "/api/analytics/kpis?range=7days", viewer)).body,
    success: (await d.api("GET", "/api/dashboard/coordination/success-rate", viewer)).body,
    metrics: (await d.api("GET", "/metrics", { token: null })).text,
  };
  agent = await d.registerAgent("figures-1", ["fig.t", "fig.step"], { concurrency: 4 });

  // Tasks: three completed at once, one completed after a retried failure, one dead on its only attempt.
  for (let i = 0; i < 3; i++) {
    await submit(1);
    await complete(await claim("fig.t"));
  }
  const retried = await submit(2);
  const first = await claim("fig.t");
  expect(first.id).toBe(retried);
  await fail(first, true);
  await complete(await claim("fig.t"));
  await submit(1);
  await fail(await claim("fig.t"), false);
  // A task an operator cancelled while its agent held it: neither a success nor a failure.
  const dropped = await submit(1);
  const held = await claim("fig.t");
  expect(held.id).toBe(dropped);
  const cancel = await d.api("POST", `/api/tasks/${dropped}/cancel`, {
    body: { reason: "figures: cancelled" },
  });
  expect(cancel.status, cancel.text).toBe(200);

  // Runs of one template: completed, failed, and cancelled while its step's task was held.
  expect((await template("fig-run", "fig.step")).status).toBe(201);
  expect((await template("fig-idle", "fig.idle")).status).toBe(201);
  const ok = await startRun("fig-run");
  await complete(await claim("fig.step"));
  await runState(ok, "completed");
  const bad = await startRun("fig-run");
  await fail(await claim("fig.step"), false);
  await runState(bad, "failed");
  const cancelled = await startRun("fig-run");
  await claim("fig.step");
  expect(
    (
      await d.api("POST", `/api/pipelines/runs/${cancelled}/cancel`, {
        body: { reason: "figures: cancelled" },
      })
    ).status,
  ).toBe(200);
  await runState(cancelled, "cancelled");
  // A run left running: its step's task waits for a capability nobody has.
  await startRun("fig-idle");

  // LLM calls reported by the agent.
  const call = (inputTokens: number, outputTokens: number) => ({
    clientCallId: randomUUID(),
    provider: "openai",
    model: "fig-gpt",
    source: "openai",
    usage: { inputTokens, outputTokens, counted: false },
    latencyMs: 100,
    status: "ok",
  });
  const llm = await d.api("POST", "/api/llm/calls", {
    token: agent.token,
    body: { calls: [call(1200, 300), call(400, 100)] },
  });
  expect(llm.status, llm.text).toBe(202);

  // Activity is frozen from here: the agent only heartbeats.
  // Tasks: completed 3 + 1 (retried) + 1 (run ok) = 5; failed/dead 1 + 1 (run bad) = 2; the
  // cancelled task and the cancelled run's task are neither. Attempts: completed 5; failed 3 (the
  // retried task's first, the dead task's, the failed run's); the two cancelled ones are neither.
  const ms = async (sql: string) => {
    const rows = (await db.query<{ ms: number }>(sql)).rows.map((r) => Number(r.ms));
    return rows.length ? Math.round(rows.reduce((a, b) => a + b, 0) / rows.length) : null;
  };
  Object.assign(expected, {
    task_success_rate: 5 / 7,
    run_success_rate: 1 / 2,
    attempt_success_rate: 5 / 8,
    tasks_completed: 5,
    tasks_failed: 2,
    tasks_active: 1,
    runs_completed: 1,
    runs_failed: 1,
    runs_active: 1,
    cost_usd: 0.008,
    total_tokens: 2000,
    // Durations are timed by Postgres: the mean of the seeded rows' own timestamps.
    avg_task_duration: await ms(
      "SELECT EXTRACT(EPOCH FROM finished_at - claimed_at) * 1000 AS ms FROM task_attempts WHERE outcome = 'completed'",
    ),
    avg_run_duration: await ms(
      "SELECT EXTRACT(EPOCH FROM finished_at - created_at) * 1000 AS ms FROM pipeline_runs WHERE state = 'completed'",
    ),
    agents_by_state: 1,
  } satisfies Record<FigureId, number | null>);

  prom = await startPrometheus({ job: "overseer-figures", targetUrl: d.url });
}, 120_000);

afterAll(async () => {
  feed?.close();
  await prom?.stop();
  await db?.end();
  await d?.close();
});

type Surface = "api" | "prometheus" | "cli" | "ws";
const SURFACES: Surface[] = ["api", "prometheus", "cli", "ws"];

/** What a surface reports per figure; undefined: the surface does not carry that figure. */
type Readings = Record<FigureId, Partial<Record<Surface | "api2", number | null>>>;

async function promValue(f: Figure, expect: number | null): Promise<number | null> {
  const promql = f.promql as string;
  const scale = f.metric?.scale ?? 1;
  const read = async () => {
    const r = await prom.query(promql);
    const v = r.data?.result?.[0]?.value?.[1];
    return v === undefined ? null : Number(v) / scale;
  };
  // Wait for a scrape after the freeze; the last value read is what the table shows.
  let last: number | null = null;
  try {
    await eventually(
      async () => {
        last = await read();
        const want = expect === null ? null : expect;
        return last === want || (last !== null && want !== null && Math.abs(last - want) < 1e-9)
          ? true
          : null;
      },
      20_000,
      `${promql} = ${expect}`,
    );
  } catch {
    // The assertion below names the difference.
  }
  return last;
}

describe("every surface reports the same value for the same figure", () => {
  it("an empty system: ratios and means are null and have no series; counts are 0", () => {
    const series = (name: string) =>
      empty.metrics.split("\n").filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
    for (const id of Object.keys(FIGURES) as FigureId[]) {
      const f: Figure = FIGURES[id];
      if (f.kpi) expect(empty.kpis.current[f.kpi], id).toBe(f.whenNull ? null : 0);
      if (f.metric) expect(series(f.metric.name).length, id).toBe(f.whenNull ? 0 : f.metric.windows.length);
    }
    expect(empty.success.windows["7d"].rate).toBeNull();
  });

  it("API, Prometheus, CLI --json and the WebSocket snapshot agree with the seeded history", async () => {
    const kpis = (await d.api("GET", "/api/analytics/kpis?range=7days", viewer)).body;
    const success = (await d.api("GET", "/api/dashboard/coordination/success-rate", viewer)).body;
    const stats = (await d.api("GET", "/api/workflow/statistics", viewer)).body;
    const queue = (await d.api("GET", "/api/dashboard/tasks/queue", viewer)).body;
    const agents = (await d.api("GET", "/api/dashboard/agents/status", viewer)).body;
    const costs = (await d.api("GET", "/api/metrics/costs", viewer)).body;

    const env = { OVERSEER_URL: d.url, OVERSEER_TOKEN: TOKENS.viewer };
    // One CLI process at a time: each compiles the CLI with tsx, and the machine is shared.
    const cliKpis = await runCli(["kpis", "--range", "7days", "--json"], env);
    const cliSuccess = await runCli(["success-rate", "--json"], env);
    const cliTasks = await runCli(["tasks", "--json"], env);
    const cliAgents = await runCli(["agents", "--json"], env);
    for (const r of [cliKpis, cliSuccess, cliTasks, cliAgents]) expect(r.code, r.stderr).toBe(0);
    const cliKpiText = await runCli(["kpis", "--range", "7days"], env);

    feed = await openFeed(d.url, "dashboard");
    const snapshot = (await feed.next((m) => m.type === "snapshot", 10_000, "snapshot")).data;

    const unfinished = (totals: Record<string, number>) =>
      (totals.ready ?? 0) + (totals.delayed ?? 0) + (totals.active ?? 0);
    const fromKpi = (body: { current: Record<string, number | null> }, id: FigureId) =>
      body.current[(FIGURES[id] as Figure).kpi as string] as number | null;

    const readings = {} as Readings;
    for (const id of Object.keys(FIGURES) as FigureId[]) {
      const f: Figure = FIGURES[id];
      const row: Readings[FigureId] = {};
      if (f.kpi) {
        row.api = fromKpi(kpis, id);
        row.cli = fromKpi(cliKpis.json, id);
      }
      if (f.promql) row.prometheus = await promValue(f, expected[id] ?? null);
      readings[id] = row;
    }
    // The figures not in the KPI answer, or answered by a second route too.
    readings.attempt_success_rate.api = success.windows["7d"].rate;
    readings.attempt_success_rate.cli = cliSuccess.json.windows["7d"].rate;
    readings.run_success_rate.api2 = stats.templates.find(
      (t: { template: string }) => t.template === "fig-run",
    )?.successRate;
    readings.tasks_active.api2 = unfinished(queue.totals);
    readings.cost_usd.api2 = costs.totalUsd;
    readings.total_tokens.api2 = costs.inputTokens + costs.outputTokens;
    readings.tasks_active.ws = unfinished(snapshot.tasks.totals);
    readings.agents_by_state.api = agents.byState.active ?? 0;
    readings.agents_by_state.cli = cliAgents.json.byState.active ?? 0;
    readings.agents_by_state.ws = snapshot.agents.byState.active ?? 0;
    // agents_by_state's PromQL is by state: the active series.
    const activeAgents = await prom.query('sum(max by (state, role) (overseer_agents{state="active"}))');
    readings.agents_by_state.prometheus = Number(activeAgents.data?.result?.[0]?.value?.[1] ?? Number.NaN);
    readings.tasks_active.cli = unfinished(cliTasks.json.totals);

    const show = (v: number | null | undefined) =>
      v === undefined ? "—" : v === null ? "null" : String(Math.round(v * 1e9) / 1e9);
    const header = [
      "figure",
      "expected",
      "api",
      "api (2nd route)",
      "prometheus",
      "cli --json",
      "ws snapshot",
    ];
    const lines = (Object.keys(FIGURES) as FigureId[]).map((id) => {
      const r = readings[id];
      return [id, show(expected[id]), show(r.api), show(r.api2), show(r.prometheus), show(r.cli), show(r.ws)];
    });
    // The attempt rate's shorter windows: everything seeded ended within 5 minutes, so each is 5/8.
    const windowRows: Array<[string, Partial<Record<Surface, number | null>>]> = [];
    for (const w of ["5m", "1h", "24h"] as const) {
      const api = w === "5m" ? success.live.rate : success.windows[w].rate;
      const cli = w === "5m" ? cliSuccess.json.live.rate : cliSuccess.json.windows[w].rate;
      const metric = await prom.query(`max(${FIGURES.attempt_success_rate.metric.name}{window="${w}"})`);
      const v = metric.data?.result?.[0]?.value?.[1];
      windowRows.push([
        `attempt_success_rate@${w}`,
        { api, cli, prometheus: v === undefined ? null : Number(v) },
      ]);
    }
    for (const [label, r] of windowRows) {
      lines.push([label, show(5 / 8), show(r.api), "—", show(r.prometheus), show(r.cli), "—"]);
    }
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
    const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(" | ")} |`;
    console.log(
      [
        fmt(header),
        fmt(widths.map((w) => "-".repeat(w))),
        ...lines.map(fmt),
        "",
        "api (2nd route): run_success_rate = GET /api/workflow/statistics (template fig-run); tasks_active = GET /api/dashboard/tasks/queue totals;",
        "cost_usd and total_tokens = GET /api/metrics/costs (default window: the last 30 days).",
        "prometheus: the registry's PromQL through a real Prometheus, durations converted back to ms; agents_by_state: the active series.",
      ].join("\n"),
    );

    const mismatches: string[] = [];
    for (const id of Object.keys(FIGURES) as FigureId[]) {
      const want = expected[id] ?? null;
      for (const [surface, got] of Object.entries(readings[id])) {
        const same =
          got === want || (got !== null && want !== null && Math.abs((got as number) - want) < 1e-9);
        if (!same) mismatches.push(`${id} on ${surface}: ${got} (expected ${want})`);
      }
    }
    for (const [label, r] of windowRows) {
      for (const [surface, got] of Object.entries(r))
        if (got !== 5 / 8) mismatches.push(`${label} on ${surface}: ${got}`);
    }
    expect(mismatches).toEqual([]);
    // Every figure is shown on the API and, where the registry says so, on the other surfaces.
    for (const id of Object.keys(FIGURES) as FigureId[]) {
      const f: Figure = FIGURES[id];
      expect(readings[id].api, id).not.toBeUndefined();
      if (f.promql) expect(readings[id].prometheus, id).not.toBeUndefined();
      if (f.ws) expect(readings[id].ws, id).not.toBeUndefined();
    }
    expect(SURFACES.length).toBe(4);
    // The text mode labels each value with the registry's name and id.
    expect(cliKpiText.stdout).toContain(`${FIGURES.task_success_rate.name}`);
    expect(cliKpiText.stdout).toContain("task_success_rate");
    expect(cliKpiText.stdout).toContain("71.4 %");
  });
});
