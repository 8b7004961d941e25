// Pipeline runs under load: N built-in `mission` runs fired over `POST /api/pipelines/mission/runs`
// with a bound on requests in flight, while the runs already accepted are being worked. Measures the
// execute endpoint's latency (202 = the run is committed) and the time until every run is completed.
// Baselines measured in the same run, with the same number of calls in flight: raw BullMQ
// `Queue.add` and a raw Postgres INSERT of one row (autocommit) through a pool as large as the
// daemon's.
//
// This file is also the load generator's entry point: run as a child process (see `fleetMain`), it
// starts one SDK agent per pipeline role with the demo handlers, so the agents' work does not share
// an event loop with the client whose latency is measured.

import { randomBytes, randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";
import { Queue } from "bullmq";
import pg from "pg";
import { PIPELINE_ROLES, pipelineHandlers } from "../../demo/pipeline-agents.ts";
import { Agent } from "../../sdk/agent.ts";
import type { AgentStats } from "../../sdk/agent-types.ts";
import type { TaskHandler } from "../../sdk/task-run.ts";
import { namespaceDb } from "../../test/helpers/namespace-cleanup.ts";
import { markdownTable } from "../markdown-table.ts";
import { percentile, perSecond, ratio } from "../stats.ts";
import { type Child, nextMessage, send, spawnTs, stopChild, stopFleet } from "../support/children.ts";
import { type BenchDaemon, startBenchDaemon } from "../support/daemon.ts";
import { onEmergency } from "../support/emergency.ts";
import {
  benchNamespace,
  DATABASE_URL,
  deleteKeys,
  dropKeys,
  redisClient,
  round,
  TOKENS,
} from "../support/services.ts";
import { boundedRun, sleep, until } from "../support/timing.ts";

export interface PipelineRunsParams {
  /** `mission` runs fired (N). */
  runs: number;
  /** Execute requests in flight at once; the same bound for `Queue.add` and the INSERTs. */
  clients: number;
  /** Slots of each pipeline role's agent. */
  agentConcurrency: number;
  /** Simulated work of one agent step, uniform in [min, max] ms (four parts, a progress report after each). */
  workMs: [number, number];
  /** Runs fired and completed before the measurement (HTTP path, scripts, JIT); 0 for none. */
  warmup: number;
  /** Upper bound of the wait for all N runs to complete. */
  timeoutMs: number;
  /** Sequential execute calls (each followed by a raw INSERT) made while the N runs are in flight. */
  probeCalls: number;
}

export interface Latency {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** What one series of calls took: wall time, calls per second, per-call latency in ms. */
export interface CallSeries {
  ms: number;
  perSec: number;
  latencyMs: Latency;
}

export interface PipelineRunsResult {
  params: PipelineRunsParams;
  overseer: {
    namespace: string;
    /** N execute calls, each answered 202 (the run and its steps committed). */
    execute: CallSeries;
    /** Runs accepted but not yet completed, sampled every 250 ms while the N calls went on. */
    inFlightDuringSubmit: { samples: number; mean: number; max: number };
    /** Runs not yet completed when the last 202 came back. */
    inFlightAtLastAccept: number;
    /** One caller, while the N runs are in flight: execute vs a raw INSERT, alternating. */
    loadedProbe: {
      calls: number;
      ms: number;
      inFlightAtStart: number;
      inFlightAtEnd: number;
      execute: Latency;
      insert: Latency;
    };
    /** First execute call → the last of the N runs finished (finished_at in Postgres). */
    completion: { ms: number; runsPerSec: number };
    /** Per run: created_at → finished_at. */
    runDurationMs: Latency;
    checks: Record<string, unknown>;
  };
  bullmq: { prefix: string; add: CallSeries };
  postgres: { schema: string; poolSize: number; insert: CallSeries };
  /** Overseer execute latency / baseline latency (lower is better for Overseer). */
  ratios: {
    vsBullmq: { p50: number | null; p95: number | null; p99: number | null };
    vsPostgres: { p50: number | null; p95: number | null; p99: number | null };
  };
}

const TEMPLATE = "mission";
/** The daemon's Postgres pool size: startBenchDaemon keeps the default (OVERSEER_PG_POOL_SIZE). */
const DAEMON_PG_POOL = 10;
const TERMINAL = ["completed", "failed", "cancelled"];

export function latency(samples: readonly number[]): Latency {
  return {
    n: samples.length,
    p50: round(percentile(samples, 50), 2),
    p95: round(percentile(samples, 95), 2),
    p99: round(percentile(samples, 99), 2),
    max: round(percentile(samples, 100), 2),
    mean: round(samples.reduce((a, b) => a + b, 0) / samples.length, 2),
  };
}

function series(count: number, ms: number, samples: number[]): CallSeries {
  return { ms: round(ms), perSec: round(perSecond(count, ms), 1), latencyMs: latency(samples) };
}

/** Overseer (daemon child process, agents in a second child), then both baselines, one after the other. */
export async function pipelineRuns(p: PipelineRunsParams): Promise<PipelineRunsResult> {
  const overseer = await overseerSide(p);
  const bullmq = await bullmqAdds(p);
  const postgres = await postgresInserts(p);
  const o = overseer.execute.latencyMs;
  const pick = (b: Latency) => ({
    p50: ratio(o.p50, b.p50),
    p95: ratio(o.p95, b.p95),
    p99: ratio(o.p99, b.p99),
  });
  return {
    params: p,
    overseer,
    bullmq,
    postgres,
    ratios: { vsBullmq: pick(bullmq.add.latencyMs), vsPostgres: pick(postgres.insert.latencyMs) },
  };
}

async function overseerSide(p: PipelineRunsParams): Promise<PipelineRunsResult["overseer"]> {
  const namespace = benchNamespace("pl");
  const daemon = await startBenchDaemon(namespace);
  let fleet: Child | undefined;
  let db: pg.Client | undefined;
  try {
    fleet = spawnTs(
      "pipeline agents",
      "bench/scenarios/pipeline-runs.ts",
      {
        OVERSEER_URL: daemon.url,
        OVERSEER_AGENT_SECRET: TOKENS.agentSecret,
        FLEET_CONCURRENCY: String(p.agentConcurrency),
        FLEET_WORK_MS: p.workMs.join(","),
      },
      { ipc: true },
    );
    await nextMessage(fleet, (m) => m.type === "loaded", 20_000, "pipeline agents loaded");
    send(fleet, { type: "start" });
    await nextMessage(fleet, (m) => m.type === "started", 30_000, "pipeline agents registered");
    db = await namespaceDb(namespace);
    const client = db;

    const byState = async (ids: string[]) => {
      const r = await client.query<{ state: string; n: number }>(
        "SELECT state, count(*)::int AS n FROM pipeline_runs WHERE id::text = ANY($1::text[]) GROUP BY state",
        [ids],
      );
      return Object.fromEntries(r.rows.map((row) => [row.state, row.n])) as Record<string, number>;
    };
    // Waits until every run is terminal; any that did not complete fails the scenario, with its error.
    const waitCompleted = async (ids: string[], timeoutMs: number, what: string) => {
      const states = await until(
        async () => {
          const s = await byState(ids);
          const terminal = TERMINAL.reduce((sum, k) => sum + (s[k] ?? 0), 0);
          return terminal === ids.length ? s : null;
        },
        { timeoutMs, everyMs: 200, what },
      );
      if ((states["completed"] ?? 0) !== ids.length) {
        const bad = await client.query(
          "SELECT id, state, error FROM pipeline_runs WHERE id::text = ANY($1::text[]) AND state <> 'completed' LIMIT 3",
          [ids],
        );
        throw new Error(`${what}: ${JSON.stringify(states)}; e.g. ${JSON.stringify(bad.rows)}`);
      }
    };
    const execute = (ids: string[], label: string) => async (i: number) => {
      const r = await daemon.api<{ id: string }>("POST", `/api/pipelines/${TEMPLATE}/runs`, {
        input: { request: `${label} ${i}: summarize the bench results` },
      });
      if (r.status !== 202)
        throw new Error(
          `POST /api/pipelines/${TEMPLATE}/runs answered ${r.status}: ${JSON.stringify(r.body)}`,
        );
      ids[i] = r.body.id;
    };

    if (p.warmup > 0) {
      const warm: string[] = [];
      await boundedRun(p.warmup, p.clients, execute(warm, "warm-up"));
      await waitCompleted(warm, 60_000, `${p.warmup} warm-up runs to complete`);
    }

    // The measurement: N executes, while the runs accepted so far are being worked.
    const ids: string[] = new Array(p.runs);
    const inFlight: number[] = [];
    let submitting = true;
    const sampler = (async () => {
      const probe = await namespaceDb(namespace);
      try {
        while (submitting) {
          await sleep(250);
          if (!submitting) break;
          const r = await probe.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pipeline_runs WHERE state = 'running'",
          );
          inFlight.push(r.rows[0]?.n ?? 0);
        }
      } finally {
        await probe.end().catch(() => {});
      }
    })();
    const t0 = Date.now();
    const s0 = performance.now();
    let latencies: number[];
    try {
      latencies = await boundedRun(p.runs, p.clients, execute(ids, "bench run"));
    } finally {
      submitting = false;
      await sampler;
    }
    const submitMs = performance.now() - s0;
    const atLastAccept = await byState(ids);

    // While those runs are still being worked: one execute at a time, alternating with a raw
    // one-row INSERT on its own connection, so both see the same machine load. This is the latency
    // one caller sees with 1,000 runs in flight (the burst above is bounded by the 50 callers).
    await client.query("CREATE TABLE bench_probe (id uuid PRIMARY KEY, input jsonb NOT NULL)");
    const probeIds: string[] = [];
    const probeExecute: number[] = [];
    const probeInsert: number[] = [];
    const inFlightAtProbe = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pipeline_runs WHERE state = 'running'",
    );
    const probeStarted = performance.now();
    for (let i = 0; i < p.probeCalls; i++) {
      let t = performance.now();
      await execute(probeIds, "probe")(i);
      probeExecute.push(performance.now() - t);
      t = performance.now();
      await client.query("INSERT INTO bench_probe (id, input) VALUES ($1, $2)", [
        randomUUID(),
        JSON.stringify({ request: `probe ${i}: summarize the bench results` }),
      ]);
      probeInsert.push(performance.now() - t);
    }
    const probeMs = performance.now() - probeStarted;
    const inFlightAfterProbe = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pipeline_runs WHERE state = 'running'",
    );
    await waitCompleted([...ids, ...probeIds], p.timeoutMs, `${p.runs} pipeline runs to complete`);

    const timing = await client.query<{ last: Date; durations: number[] }>(
      `SELECT max(finished_at) AS last,
         array_agg(extract(epoch FROM finished_at - created_at) * 1000)::float8[] AS durations
       FROM pipeline_runs WHERE id::text = ANY($1::text[])`,
      [ids],
    );
    const row = timing.rows[0];
    if (!row) throw new Error("no timing row");
    const completionMs = row.last.getTime() - t0;
    const tasks = await client.query<{ state: string; n: number; attempts: number }>(
      "SELECT state, count(*)::int AS n, sum(attempts)::int AS attempts FROM tasks GROUP BY state ORDER BY state",
    );
    const stopped = await stopFleet<AgentStats>(fleet, "pipeline agents");
    return {
      namespace,
      execute: series(p.runs, submitMs, latencies),
      inFlightDuringSubmit: {
        samples: inFlight.length,
        mean: inFlight.length ? round(inFlight.reduce((a, b) => a + b, 0) / inFlight.length) : 0,
        max: inFlight.length ? Math.max(...inFlight) : 0,
      },
      inFlightAtLastAccept: p.runs - (atLastAccept["completed"] ?? 0),
      loadedProbe: {
        calls: p.probeCalls,
        ms: Math.round(probeMs),
        inFlightAtStart: inFlightAtProbe.rows[0]?.n ?? 0,
        inFlightAtEnd: inFlightAfterProbe.rows[0]?.n ?? 0,
        execute: latency(probeExecute),
        insert: latency(probeInsert),
      },
      completion: { ms: completionMs, runsPerSec: round(perSecond(p.runs, completionMs), 1) },
      runDurationMs: latency(row.durations),
      checks: {
        runs: p.runs + p.warmup,
        tasksByState: Object.fromEntries(tasks.rows.map((r) => [r.state, r.n])),
        taskAttempts: tasks.rows.reduce((sum, r) => sum + (r.attempts ?? 0), 0),
        agentStats: stopped.stats,
        agentErrors: stopped.errors,
        daemonProblems: daemon.problems(),
      },
    };
  } finally {
    if (fleet) await stopChild(fleet.proc, "SIGKILL");
    await db?.end().catch(() => {});
    await closeDaemon(daemon);
  }
}

/** Baseline: `Queue.add` of N jobs (nothing consuming), the same number of calls in flight. */
async function bullmqAdds(p: PipelineRunsParams): Promise<PipelineRunsResult["bullmq"]> {
  const prefix = `benchbull:${randomBytes(4).toString("hex")}`;
  const connection = redisClient();
  const queue = new Queue("pl", { connection, prefix });
  const forget = onEmergency(() => dropKeys(`${prefix}:*`));
  try {
    const add = async (i: number) => {
      await queue.add("run", { request: `bench run ${i}: summarize the bench results` });
    };
    if (p.warmup > 0) await boundedRun(p.warmup, p.clients, add);
    const t0 = performance.now();
    const latencies = await boundedRun(p.runs, p.clients, add);
    return { prefix, add: series(p.runs, performance.now() - t0, latencies) };
  } finally {
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close().catch(() => {});
    await deleteKeys(connection, `${prefix}:*`).catch(() => 0);
    forget();
    connection.disconnect();
  }
}

/** Baseline: one-row INSERT (autocommit) N times through a pool of the daemon's size. */
async function postgresInserts(p: PipelineRunsParams): Promise<PipelineRunsResult["postgres"]> {
  const schema = `bench_pg_${randomBytes(4).toString("hex")}`;
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: DAEMON_PG_POOL });
  const drop = async () => {
    const c = new pg.Client({ connectionString: DATABASE_URL });
    await c.connect();
    try {
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await c.end();
    }
  };
  const forget = onEmergency(drop);
  try {
    await pool.query(`CREATE SCHEMA ${schema}`);
    await pool.query(
      `CREATE TABLE ${schema}.runs (id uuid PRIMARY KEY, input jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
    );
    const insert = async (i: number) => {
      await pool.query(`INSERT INTO ${schema}.runs (id, input) VALUES ($1, $2)`, [
        randomUUID(),
        JSON.stringify({ request: `bench run ${i}: summarize the bench results` }),
      ]);
    };
    if (p.warmup > 0) await boundedRun(p.warmup, p.clients, insert);
    const t0 = performance.now();
    const latencies = await boundedRun(p.runs, p.clients, insert);
    return { schema, poolSize: DAEMON_PG_POOL, insert: series(p.runs, performance.now() - t0, latencies) };
  } finally {
    await pool.end().catch(() => {});
    await drop().catch((error) => console.error(`drop of ${schema} failed:`, error));
    forget();
  }
}

async function closeDaemon(daemon: BenchDaemon): Promise<void> {
  await daemon.close().catch((error) => console.error(`cleanup of ${daemon.namespace} failed:`, error));
}

const int = (n: number | null | undefined) =>
  n == null || !Number.isFinite(n) ? "–" : Math.round(n).toLocaleString("en-US");
const ms1 = (n: number | null | undefined) => (n == null || !Number.isFinite(n) ? "–" : n.toFixed(1));
const x = (n: number | null | undefined) => (n == null || !Number.isFinite(n) ? "–" : `${n.toFixed(2)}×`);

/** The printed result (Markdown). */
export function pipelineRunsMarkdown(r: PipelineRunsResult): string {
  const p = r.params;
  const o = r.overseer;
  const row = (what: string, s: CallSeries) => [
    what,
    ms1(s.latencyMs.p50),
    ms1(s.latencyMs.p95),
    ms1(s.latencyMs.p99),
    ms1(s.latencyMs.max),
    int(s.perSec),
  ];
  const ratioRow = (what: string, q: PipelineRunsResult["ratios"]["vsBullmq"]) => [
    what,
    x(q.p50),
    x(q.p95),
    x(q.p99),
    "–",
    "–",
  ];
  const table = markdownTable(
    [
      ["Call (latency in ms)", "p50", "p95", "p99", "max", "calls/s"],
      row(`Overseer \`POST /api/pipelines/${TEMPLATE}/runs\` → 202, runs in flight`, o.execute),
      row("Raw BullMQ `Queue.add` (nothing consuming)", r.bullmq.add),
      row(`Raw Postgres one-row \`INSERT\` + commit (pool of ${r.postgres.poolSize})`, r.postgres.insert),
      ratioRow("Overseer / BullMQ", r.ratios.vsBullmq),
      ratioRow("Overseer / Postgres INSERT", r.ratios.vsPostgres),
    ],
    ["l", "r", "r", "r", "r", "r"],
  );
  const n = p.runs.toLocaleString("en-US");
  return [
    table,
    "",
    `- N = ${n} \`${TEMPLATE}\` runs (3 agent steps, 3 built-in steps each), ${p.clients} calls in flight on every ` +
      `row; agents: one per pipeline role × ${p.agentConcurrency} slots, ${p.workMs[0]}–${p.workMs[1]} ms of ` +
      `simulated work per step; ${p.warmup} warm-up calls first on every row. Ratios below 1× favour Overseer.`,
    `- **One caller while the runs are in flight** (${o.loadedProbe.calls} executes, each followed by a raw one-row INSERT on its own connection; ` +
      `${int(o.loadedProbe.inFlightAtStart)} → ${int(o.loadedProbe.inFlightAtEnd)} runs in flight): execute p50 ${ms1(o.loadedProbe.execute.p50)} ms, ` +
      `p95 ${ms1(o.loadedProbe.execute.p95)}, p99 ${ms1(o.loadedProbe.execute.p99)}; raw INSERT p50 ${ms1(o.loadedProbe.insert.p50)} ms, ` +
      `p99 ${ms1(o.loadedProbe.insert.p99)}; ratio p50 ${x(ratio(o.loadedProbe.execute.p50, o.loadedProbe.insert.p50))}, ` +
      `p99 ${x(ratio(o.loadedProbe.execute.p99, o.loadedProbe.insert.p99))}.`,
    `- Runs in flight (accepted, not yet completed) while the ${n} calls went on: mean ${int(o.inFlightDuringSubmit.mean)}, ` +
      `max ${int(o.inFlightDuringSubmit.max)} (${o.inFlightDuringSubmit.samples} samples, every 250 ms); ` +
      `${int(o.inFlightAtLastAccept)} when the last 202 came back.`,
    `- **All ${n} runs completed ${(o.completion.ms / 1000).toFixed(1)} s after the first call: ` +
      `${ms1(o.completion.runsPerSec)} runs/s.** Run duration (created → finished): p50 ${int(o.runDurationMs.p50)} ms, ` +
      `p95 ${int(o.runDurationMs.p95)} ms, p99 ${int(o.runDurationMs.p99)} ms.`,
  ].join("\n");
}

// ---- Load generator (child process, IPC) -------------------------------------------------------
// One SDK agent per pipeline role (PIPELINE_ROLES) with FLEET_CONCURRENCY slots and the demo
// handlers, FLEET_WORK_MS="min,max" of work per step. Messages from the parent:
//   {type:"start"} → registers every agent, answers {type:"started"}
//   {type:"stop"}  → drains, answers {type:"stopped", stats, errors} and exits 0
// It exits by itself when the parent goes away.

async function fleetMain(): Promise<void> {
  const env = process.env;
  const concurrency = Number(env["FLEET_CONCURRENCY"] ?? 50);
  const [lo = 5, hi = 20] = (env["FLEET_WORK_MS"] ?? "5,20").split(",").map(Number);
  const handlers = pipelineHandlers(() => lo + Math.random() * (hi - lo)) as Record<string, TaskHandler>;
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const errors: Record<string, number> = {};
  const reply = (m: Record<string, unknown>) => process.send?.(m);
  const agents = PIPELINE_ROLES.map(
    (spec) =>
      new Agent({
        url: env["OVERSEER_URL"] ?? "",
        agentSecret: env["OVERSEER_AGENT_SECRET"] ?? "",
        name: `bench-${spec.role}-${process.pid}`,
        role: spec.role,
        handlers: Object.fromEntries(spec.capabilities.map((c) => [c, handlers[c] as TaskHandler])),
        concurrency,
        logger: quiet,
      }),
  );
  for (const agent of agents) {
    agent.on("error", (err) => {
      const key = err.message.slice(0, 120);
      errors[key] = (errors[key] ?? 0) + 1;
    });
  }
  const fail = (err: unknown) => {
    reply({ type: "error", message: (err as Error)?.message ?? String(err) });
    process.exit(1);
  };
  process.on("message", (m: { type?: string }) => {
    if (m?.type === "start")
      Promise.all(agents.map((a) => a.start()))
        .then(() => reply({ type: "started" }))
        .catch(fail);
    if (m?.type === "stop")
      Promise.all(agents.map((a) => a.stop({ graceMs: 2_000 })))
        .then(() => {
          const stats: AgentStats = { claimed: 0, completed: 0, failed: 0, lost: 0, released: 0 };
          for (const a of agents)
            for (const k of Object.keys(stats) as Array<keyof AgentStats>) stats[k] += a.stats[k];
          reply({ type: "stopped", stats, errors });
          setImmediate(() => process.exit(0));
        })
        .catch(fail);
  });
  process.on("disconnect", () => process.exit(1));
  reply({ type: "loaded" });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void fleetMain();
}
