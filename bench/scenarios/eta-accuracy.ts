// How good is a run's ETA? A custom template of sequential agent steps with fixed simulated
// durations (± jitter). Each measured run is sampled from inside its agent handlers, at the start and
// the midpoint of every step: the handler asks `GET /api/pipelines/runs/:id` (without waiting for the
// answer), and the predicted completion (`eta.at`) is later compared with the run's real
// `finishedAt`. Two batches:
//   - rate: runs with no history at all (each on a template of its own, so none ever has any), which
//     gives the `rate` method's figures (and `none` before any progress);
//   - history: after `historyRuns` completed runs of one template, runs of that template, which gives
//     the `history` method's figures.
// The runs go one at a time, so queueing does not blur the comparison.
import { setTimeout as delay } from "node:timers/promises";
import type pg from "pg";
import type { TemplateDefinition } from "../../daemon/pipelines/template-types.ts";
import { Agent } from "../../sdk/agent.ts";
import type { TaskHandler } from "../../sdk/task-run.ts";
import { namespaceDb } from "../../test/helpers/namespace-cleanup.ts";
import { markdownTable } from "../markdown-table.ts";
import { percentile } from "../stats.ts";
import { type BenchDaemon, startBenchDaemon } from "../support/daemon.ts";
import { benchNamespace, round, TOKENS } from "../support/services.ts";
import { until } from "../support/timing.ts";

export interface EtaParams {
  /** Completed runs of the template before the history batch (the daemon wants 3 per step). */
  historyRuns: number;
  /** Measured runs per batch. */
  runs: number;
  /** Simulated duration of each sequential agent step, ms. */
  stepMs: number[];
  /** Each step's duration varies uniformly by ± this fraction. */
  jitter: number;
  /** Upper bound of one run. */
  runTimeoutMs: number;
}

type Method = "history" | "rate" | "none";

export interface EtaSample {
  batch: "rate" | "history";
  runId: string;
  /** Where in the run the view was read, e.g. "s2 start", "s2 50%". */
  point: string;
  method: Method;
  remainingMs: number | null;
  /** eta.at − finishedAt, ms (positive: predicted too late). */
  errorMs: number | null;
  /** The run's duration (createdAt → finishedAt), ms. */
  runMs: number;
}

export interface EtaStats {
  samples: number;
  runs: number;
  /** Mean |eta.at − finishedAt|, ms. */
  maeMs: number | null;
  /** Mean of |eta.at − finishedAt| / run duration, percent. */
  maePct: number | null;
  /** Mean signed error, ms (positive: predicted too late). */
  biasMs: number | null;
  p90AbsMs: number | null;
}

export interface EtaResult {
  params: EtaParams;
  namespace: string;
  byMethod: Record<Method, EtaStats>;
  /** Per sample point, per method. */
  byPoint: Array<{ point: string; method: Method; stats: EtaStats }>;
  /** Mean run duration per batch, ms. */
  runMs: { rate: number; history: number };
  /** Median step durations the daemon's history held at the end (what `history` adds up). */
  historyMedianMs: Record<string, number>;
  samples: EtaSample[];
  checks: Record<string, unknown>;
}

const BASE = "bench-eta";
const capability = (i: number) => `bench.eta.s${i + 1}`;

function template(name: string, stepMs: number[]): TemplateDefinition {
  return {
    name,
    description: "ETA accuracy bench: sequential agent steps with fixed simulated durations.",
    parameters: {
      label: { type: "string" },
      measure: { type: "boolean", default: false },
    },
    // No weights or bands: every step counts the same for percent (the default).
    steps: stepMs.map((ms, i) => ({
      id: `s${i + 1}`,
      name: `Step ${i + 1} (${ms} ms)`,
      executor: { kind: "agent" as const, capability: capability(i) },
      ...(i > 0 ? { dependsOn: [`s${i}`] } : {}),
    })),
  };
}

interface RawSample {
  runId: string;
  point: string;
  view: Promise<{ method: Method; remainingMs: number | null; at: string | null } | null>;
}

export async function etaAccuracy(p: EtaParams): Promise<EtaResult> {
  const namespace = benchNamespace("eta");
  const daemon = await startBenchDaemon(namespace);
  let agent: Agent | undefined;
  let db: pg.Client | undefined;
  const raw: RawSample[] = [];
  const agentErrors: Record<string, number> = {};
  try {
    const sample = (runId: string, point: string) => {
      raw.push({
        runId,
        point,
        view: daemon
          .api<{ eta: { method: Method; remainingMs: number | null; at: string | null } }>(
            "GET",
            `/api/pipelines/runs/${runId}`,
            undefined,
            TOKENS.viewer,
          )
          .then(
            (r) => (r.status === 200 ? r.body.eta : null),
            () => null,
          ),
      });
    };
    const handler =
      (i: number): TaskHandler =>
      async (ctx) => {
        const payload = (ctx.payload ?? {}) as {
          pipeline?: { runId: string };
          input?: { measure?: boolean };
        };
        const runId = payload.pipeline?.runId;
        const measure = payload.input?.measure === true && runId !== undefined;
        const step = `s${i + 1}`;
        if (measure) sample(runId, `${step} start`);
        const ms = (p.stepMs[i] ?? 0) * (1 + p.jitter * (2 * Math.random() - 1));
        for (let k = 1; k <= 4; k++) {
          await delay(ms / 4, undefined, { signal: ctx.signal });
          await ctx.progress(25 * k, `${step}: part ${k} of 4`);
          if (measure && k === 2) sample(runId, `${step} 50%`);
        }
        return { simulated: true, ms: Math.round(ms) };
      };
    agent = new Agent({
      url: daemon.url,
      agentSecret: TOKENS.agentSecret,
      name: "bench-eta",
      role: "bench-eta",
      handlers: Object.fromEntries(p.stepMs.map((_, i) => [capability(i), handler(i)])),
      concurrency: 4,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    agent.on("error", (err) => {
      const key = err.message.slice(0, 120);
      agentErrors[key] = (agentErrors[key] ?? 0) + 1;
    });
    await agent.start();
    db = await namespaceDb(namespace);
    const client = db;

    const put = async (name: string) => {
      const r = await daemon.api("PUT", `/api/pipelines/templates/${name}`, template(name, p.stepMs));
      if (r.status !== 201 && r.status !== 200)
        throw new Error(`PUT template ${name} answered ${r.status}: ${JSON.stringify(r.body)}`);
    };
    /** One run, start to finish; returns its id and timing from Postgres. */
    const run = async (name: string, label: string, measure: boolean) => {
      const r = await daemon.api<{ id: string }>("POST", `/api/pipelines/${name}/runs`, {
        input: { label, measure },
      });
      if (r.status !== 202)
        throw new Error(`execute ${name} answered ${r.status}: ${JSON.stringify(r.body)}`);
      const id = r.body.id;
      const row = await until(
        async () => {
          const q = await client.query<{ state: string; created_at: Date; finished_at: Date | null }>(
            "SELECT state, created_at, finished_at FROM pipeline_runs WHERE id = $1",
            [id],
          );
          const found = q.rows[0];
          return found && ["completed", "failed", "cancelled"].includes(found.state) ? found : null;
        },
        { timeoutMs: p.runTimeoutMs, everyMs: 20, what: `run ${label} to finish` },
      );
      if (row.state !== "completed" || !row.finished_at) throw new Error(`run ${label} ended ${row.state}`);
      return { id, createdAt: row.created_at.getTime(), finishedAt: row.finished_at.getTime() };
    };

    const measured: Array<{ batch: "rate" | "history"; id: string; createdAt: number; finishedAt: number }> =
      [];
    // Batch 1: no history (each run on a fresh template of its own).
    for (let i = 0; i < p.runs; i++) {
      const name = `${BASE}-fresh-${i}`;
      await put(name);
      measured.push({ batch: "rate", ...(await run(name, `rate ${i}`, true)) });
    }
    // History, then batch 2.
    await put(BASE);
    for (let i = 0; i < p.historyRuns; i++) await run(BASE, `history ${i}`, false);
    for (let i = 0; i < p.runs; i++)
      measured.push({ batch: "history", ...(await run(BASE, `measured ${i}`, true)) });

    const byId = new Map(measured.map((m) => [m.id, m]));
    const samples: EtaSample[] = [];
    let unanswered = 0;
    for (const s of raw) {
      const eta = await s.view;
      const m = byId.get(s.runId);
      if (!m) continue;
      if (!eta) {
        unanswered++;
        continue;
      }
      samples.push({
        batch: m.batch,
        runId: s.runId,
        point: s.point,
        method: eta.method,
        remainingMs: eta.remainingMs,
        errorMs: eta.at === null ? null : Date.parse(eta.at) - m.finishedAt,
        runMs: m.finishedAt - m.createdAt,
      });
    }
    const history = await client.query<{ step_id: string; median_ms: number }>(
      `SELECT s.step_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY s.duration_ms)::float8 AS median_ms
       FROM pipeline_steps s JOIN pipeline_runs r ON r.id = s.run_id
       WHERE r.template = $1 AND r.state = 'completed' AND s.state = 'completed' GROUP BY s.step_id ORDER BY s.step_id`,
      [BASE],
    );
    const points = [...new Set(samples.map((s) => s.point))];
    const methods: Method[] = ["history", "rate", "none"];
    const meanRun = (batch: "rate" | "history") => {
      const runs = measured.filter((m) => m.batch === batch);
      return runs.length ? round(runs.reduce((a, m) => a + m.finishedAt - m.createdAt, 0) / runs.length) : 0;
    };
    return {
      params: p,
      namespace,
      byMethod: Object.fromEntries(
        methods.map((method) => [method, etaStats(samples.filter((s) => s.method === method))]),
      ) as Record<Method, EtaStats>,
      byPoint: points.flatMap((point) =>
        methods
          .map((method) => ({
            point,
            method,
            stats: etaStats(samples.filter((s) => s.point === point && s.method === method)),
          }))
          .filter((row) => row.stats.samples > 0),
      ),
      runMs: { rate: meanRun("rate"), history: meanRun("history") },
      historyMedianMs: Object.fromEntries(history.rows.map((r) => [r.step_id, round(r.median_ms)])),
      samples,
      checks: {
        measuredRuns: measured.length,
        expectedSamples: measured.length * p.stepMs.length * 2,
        unanswered,
        agentStats: agent.stats,
        agentErrors,
        daemonProblems: daemon.problems(),
      },
    };
  } finally {
    await agent?.stop({ graceMs: 1_000 }).catch(() => {});
    await Promise.allSettled(raw.map((s) => s.view));
    await db?.end().catch(() => {});
    await closeDaemon(daemon);
  }
}

export function etaStats(samples: EtaSample[]): EtaStats {
  const errors = samples.filter((s) => s.errorMs !== null);
  const abs = errors.map((s) => Math.abs(s.errorMs as number));
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const maeMs = mean(abs);
  const maePct = mean(errors.map((s) => (100 * Math.abs(s.errorMs as number)) / s.runMs));
  const biasMs = mean(errors.map((s) => s.errorMs as number));
  return {
    samples: samples.length,
    runs: new Set(samples.map((s) => s.runId)).size,
    maeMs: maeMs === null ? null : round(maeMs),
    maePct: maePct === null ? null : round(maePct, 1),
    biasMs: biasMs === null ? null : round(biasMs),
    p90AbsMs: abs.length ? round(percentile(abs, 90)) : null,
  };
}

async function closeDaemon(daemon: BenchDaemon): Promise<void> {
  await daemon.close().catch((error) => console.error(`cleanup of ${daemon.namespace} failed:`, error));
}

const num = (n: number | null | undefined, unit = "") =>
  n == null || !Number.isFinite(n) ? "–" : `${Math.round(n).toLocaleString("en-US")}${unit}`;
const pct = (n: number | null | undefined) => (n == null || !Number.isFinite(n) ? "–" : `${n.toFixed(1)} %`);

/** The printed result (Markdown). */
export function etaMarkdown(r: EtaResult): string {
  const p = r.params;
  const methodRows = (["history", "rate", "none"] as const).map((m) => {
    const s = r.byMethod[m];
    return [
      m === "none" ? "`none` (no estimate given)" : `\`${m}\``,
      `${s.samples} (${s.runs})`,
      num(s.maeMs),
      pct(s.maePct),
      num(s.biasMs),
      num(s.p90AbsMs),
    ];
  });
  const main = markdownTable(
    [
      [
        "ETA method",
        "Samples (runs)",
        "MAE (ms)",
        "MAE / run duration",
        "Mean signed error (ms)",
        "p90 \\|error\\| (ms)",
      ],
      ...methodRows,
    ],
    ["l", "r", "r", "r", "r", "r"],
  );
  const points = [...new Set(r.byPoint.map((b) => b.point))];
  const cell = (point: string, method: Method) => {
    const s = r.byPoint.find((b) => b.point === point && b.method === method)?.stats;
    return s ? `${num(s.maeMs)} (${pct(s.maePct)})` : "–";
  };
  const perPoint = markdownTable(
    [
      ["Sampled at", "`history`: MAE ms (% of run)", "`rate`: MAE ms (% of run)"],
      ...points.map((pt) => [pt, cell(pt, "history"), cell(pt, "rate")]),
    ],
    ["l", "r", "r"],
  );
  const steps = p.stepMs.map((ms, i) => `s${i + 1} ${ms} ms`).join(", ");
  const medians = Object.entries(r.historyMedianMs)
    .map(([k, v]) => `${k} ${v} ms`)
    .join(", ");
  return [
    main,
    "",
    perPoint,
    "",
    `- Template: ${p.stepMs.length} sequential agent steps (${steps}, ± ${Math.round(p.jitter * 100)} % jitter, ` +
      "4 progress reports each, equal weights); runs one at a time. Error = `eta.at` − the run's `finishedAt`; " +
      "positive means the ETA was too late. Each run is sampled at the start and the midpoint of every step.",
    `- \`rate\` batch: ${p.runs} runs with no history (mean duration ${num(r.runMs.rate)} ms). ` +
      `\`history\` batch: ${p.runs} runs after ${p.historyRuns} completed ones (mean duration ${num(r.runMs.history)} ms); ` +
      `step medians in the history at the end: ${medians || "–"}.`,
  ].join("\n");
}
