import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Machine } from "./machine.ts";
import { markdownTable } from "./markdown-table.ts";
import { type ScaleResults, scaleMarkdown } from "./report-scale.ts";
import type { ReassignSide } from "./scenarios/reassign-overseer.ts";
import { reassignSessionsMarkdown, type SessionReassignRun } from "./scenarios/reassign-sessions.ts";
import type { RedisBenchmarkResult } from "./scenarios/redis-benchmark.ts";
import type { BullThroughput } from "./scenarios/throughput-bullmq.ts";
import type { ThroughputParams, ThroughputSide } from "./scenarios/throughput-overseer.ts";
import type { PeerThroughput } from "./scenarios/throughput-peer.ts";
import { ratio } from "./stats.ts";

export interface ReassignRun {
  /** e.g. "250ms" */
  label: string;
  heartbeatMs: number;
  deadAfterMs: number;
  overseer: ReassignSide | null;
  bullmq: ReassignSide | null;
  /** Overseer / BullMQ (lower is better for Overseer). */
  ratios: { p50: number | null; p99: number | null };
}

export interface BullDefaults {
  lockDuration: number;
  stalledInterval: number;
  measured: boolean;
  /** Kill → pickup window implied by the stalled-check algorithm, ms. */
  expectedRangeMs: [number, number];
  note: string;
  result?: ReassignSide | null;
}

export interface BenchResults {
  schema: 1;
  machine: Machine;
  params: ThroughputParams & { reassignSamples: number; full: boolean; redisBenchmarkRequests: number };
  durationMs: number;
  throughput: {
    overseer: ThroughputSide | null;
    bullmq: BullThroughput | null;
    /** A bare Postgres queue: UPDATE … FOR UPDATE SKIP LOCKED, one DELETE per job. */
    skipLocked: PeerThroughput | null;
    /** graphile-worker at its defaults (bench/load/graphile-worker.ts lists the settings). */
    graphileWorker: PeerThroughput | null;
    ratios: ThroughputRatios;
  };
  redisBenchmark: RedisBenchmarkResult | null;
  reassign: ReassignRun[];
  /** Crash → claimed elsewhere with SDK agents on sessions, beside HTTP heartbeats and BullMQ (null: skipped). */
  reassignSessions: SessionReassignRun | null;
  bullmqDefaults: BullDefaults;
  /** Fleet of 10k agents, WebSocket fan-out, pipeline execute, leader failover (null: skipped or failed). */
  scale: ScaleResults;
  errors: string[];
}

export interface ThroughputRatios {
  /** Overseer / BullMQ rates (higher is better for Overseer). */
  submit: number | null;
  drain: number | null;
  endToEnd: number | null;
  bulk?: number | null;
  /** Overseer / the peer's rates (higher is better for Overseer). */
  endToEndVsSkipLocked: number | null;
  endToEndVsGraphileWorker: number | null;
  bulkVsSkipLocked: number | null;
  bulkVsGraphileWorker: number | null;
  /** Overseer's CPU per task over all processes / the other's, end to end (below 1 Overseer is cheaper). */
  cpuPerTaskVsBullmq: number | null;
  cpuPerTaskVsSkipLocked: number | null;
  cpuPerTaskVsGraphileWorker: number | null;
}

export function throughputRatios(
  o: ThroughputSide | null,
  b: BullThroughput | null,
  s: PeerThroughput | null = null,
  g: PeerThroughput | null = null,
): ThroughputRatios {
  const cpu = cpuMsPerTask(o);
  return {
    submit: ratio(o?.submit.perSec, b?.submit.perSec),
    drain: ratio(o?.drain.perSec, b?.drain.perSec),
    endToEnd: ratio(o?.endToEnd.perSec, b?.endToEnd.perSec),
    bulk: ratio(o?.bulk?.perSec, b?.addBulk.perSec),
    endToEndVsSkipLocked: ratio(o?.endToEnd.perSec, s?.endToEnd.perSec),
    endToEndVsGraphileWorker: ratio(o?.endToEnd.perSec, g?.endToEnd.perSec),
    bulkVsSkipLocked: ratio(o?.bulk?.perSec, s?.bulk.perSec),
    bulkVsGraphileWorker: ratio(o?.bulk?.perSec, g?.bulk.perSec),
    cpuPerTaskVsBullmq: ratio(cpu, cpuMsPerTask(b)),
    cpuPerTaskVsSkipLocked: ratio(cpu, cpuMsPerTask(s)),
    cpuPerTaskVsGraphileWorker: ratio(cpu, cpuMsPerTask(g)),
  };
}

/**
 * CPU ms per task in the end-to-end phase over every process group measured: the system's own
 * processes, the submitter, and every redis-server and postgres process (whichever it uses).
 */
export function cpuMsPerTask(side: ThroughputSide | null): number | null {
  const per1k = (side?.cost as CostShape | undefined)?.cpu?.cpuMsPer1k;
  if (!per1k) return null;
  return Object.values(per1k).reduce((sum, ms) => sum + ms, 0) / 1000;
}

export function reassignRatios(o: ReassignSide | null, b: ReassignSide | null): ReassignRun["ratios"] {
  return { p50: ratio(o?.summary?.p50, b?.summary?.p50), p99: ratio(o?.summary?.p99, b?.summary?.p99) };
}

/**
 * What BullMQ's stalled-job check implies for a killed worker's job: the lock was last renewed up to
 * lockDuration/2 before the kill and expires lockDuration after that renewal; the job moves back to
 * wait at the first check after expiry that finds it in the stalled set, which takes one more check
 * interval at most (the set is filled by a check after the last renewal).
 */
export function bullStalledWindowMs(lockDuration: number, stalledInterval: number): [number, number] {
  return [lockDuration / 2, lockDuration + stalledInterval];
}

const int = (n: number | null | undefined) =>
  n == null || !Number.isFinite(n) ? "–" : Math.round(n).toLocaleString("en-US");
const x = (n: number | null | undefined) => (n == null || !Number.isFinite(n) ? "–" : `${n.toFixed(2)}×`);
const sec = (ms: number) => (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`);

/** The throughput table's columns: the first four as ever, then each peer and Overseer's ratio to it. */
const THROUGHPUT_HEADER = [
  "Scenario",
  "Overseer",
  "Raw BullMQ",
  "Overseer / BullMQ",
  "Postgres SKIP LOCKED",
  "Overseer / SKIP LOCKED",
  "graphile-worker",
  "Overseer / graphile-worker",
];

/** The throughput rows of the results table, header first (also `npm run bench -- throughput`). */
export function throughputRows(t: BenchResults["throughput"]): string[][] {
  const { overseer: o, bullmq: b, skipLocked: s, graphileWorker: g, ratios: r } = t;
  const each = (pick: (side: ThroughputSide | null) => number | undefined) => [o, b, s, g].map(pick);
  // Overseer, then each other system's value beside Overseer's ratio to it (the ratios the results
  // keep where given, computed from the values otherwise).
  const row = (
    label: string,
    values: Array<number | undefined>,
    kept: Array<number | null>,
    bold = false,
  ) => {
    const [mine, ...others] = values;
    const cells = [int(mine)];
    others.forEach((v, i) => {
      cells.push(int(v), x(kept[i] !== undefined ? kept[i] : ratio(mine, v)));
    });
    return [label, ...cells].map((c) => (bold ? `**${c}**` : c));
  };
  return [
    THROUGHPUT_HEADER,
    row(
      "Submit only (per s)",
      each((side) => side?.submit.perSec),
      [r.submit],
    ),
    row(
      "Drain a full queue (tasks/s)",
      each((side) => side?.drain.perSec),
      [r.drain],
    ),
    row(
      "End to end: submit + process (tasks/s)",
      each((side) => side?.endToEnd.perSec),
      [r.endToEnd, r.endToEndVsSkipLocked, r.endToEndVsGraphileWorker],
      true,
    ),
    row(
      "… submit rate meanwhile (per s)",
      each((side) => side?.endToEnd.submitPerSec),
      [],
    ),
    row(
      "Bulk submit, 1,000 a call: `POST /api/tasks/batch` / `Queue.addBulk` / `INSERT … unnest` / `addJobs` (tasks/s)",
      [o?.bulk?.perSec, b?.addBulk.perSec, s?.bulk.perSec, g?.bulk.perSec],
      [r.bulk ?? null, r.bulkVsSkipLocked, r.bulkVsGraphileWorker],
    ),
  ];
}

/** Left for the labels, right for the numbers. */
const ALIGN = THROUGHPUT_HEADER.map((_, i) => (i === 0 ? "l" : "r") as "l" | "r");

/** The throughput rows alone (Markdown; `npm run bench -- throughput`). */
export function throughputTable(t: BenchResults["throughput"]): string {
  return markdownTable(throughputRows(t), ALIGN);
}

/** The main results table (Markdown). */
export function resultsTable(r: BenchResults): string {
  const rows = throughputRows(r.throughput);
  const width = rows[0]?.length ?? 0;
  for (const run of r.reassign) {
    const os = run.overseer?.summary;
    const bs = run.bullmq?.summary;
    const what = `Reassign after SIGKILL, ${sec(run.heartbeatMs)} / ${sec(run.deadAfterMs)}`;
    rows.push([`${what}: p50 (ms)`, int(os?.p50), int(bs?.p50), x(run.ratios.p50)]);
    rows.push([`${what}: p99 (ms)`, int(os?.p99), int(bs?.p99), x(run.ratios.p99)]);
  }
  const d = r.bullmqDefaults;
  const defaults =
    d.measured && d.result?.summary
      ? `p50 ${int(d.result.summary.p50)}, max ${int(d.result.summary.max)} (n=${d.result.summary.n})`
      : `${int(d.expectedRangeMs[0])}–${int(d.expectedRangeMs[1])}: expected, **not measured**`;
  rows.push([
    `Reassign, BullMQ stock ${sec(d.lockDuration)} / ${sec(d.stalledInterval)} (ms)`,
    "–",
    defaults,
    "–",
  ]);
  const rb = r.redisBenchmark;
  rows.push([
    "`redis-benchmark` SET / GET / LPUSH / LPOP (ops/s)",
    "–",
    rb == null
      ? "–"
      : rb.installed
        ? ["SET", "GET", "LPUSH", "LPOP"].map((k) => int(rb.opsPerSec[k])).join(" / ")
        : rb.note,
    "–",
  ]);
  // The rows below compare Overseer with BullMQ only: the peers' columns stay empty there.
  return markdownTable(
    rows.map((row) => [...row, ...Array<string>(Math.max(0, width - row.length)).fill("–")]),
    ALIGN,
  );
}

/** Per-task cost in the end-to-end phase (Markdown). */
export function costTable(t: BenchResults["throughput"], nproc: number): string {
  const sides = [t.overseer, t.bullmq, t.skipLocked, t.graphileWorker];
  const costs = sides.map((side) => side?.cost as CostShape | undefined);
  const num = (v: number | null | undefined, digits = 1) => (v == null ? "–" : v.toFixed(digits));
  const cpu = (c: CostShape | undefined, k: string) =>
    num(c?.cpu?.cpuMsPer1k?.[k] == null ? undefined : (c?.cpu?.cpuMsPer1k?.[k] ?? 0) / 1000, 2);
  const [o] = costs;
  // The Redis counters are read for the two systems on Redis; the Postgres peers show "–" there.
  const redis = (pick: (r: NonNullable<CostShape["redis"]>) => number, digits = 1) =>
    costs.map((c) => num(c?.redis ? pick(c.redis) : undefined, digits));
  const rows: string[][] = [
    ["Per task / job, end-to-end phase", "Overseer", "Raw BullMQ", "Postgres SKIP LOCKED", "graphile-worker"],
    ["Redis commands (including those run inside Lua scripts)", ...redis((r) => r.commandsPerUnit)],
    ["… of which script calls (EVALSHA)", ...redis((r) => r.scriptsPerUnit, 2)],
    ["Redis server CPU (µs)", ...redis((r) => r.cpuUsPerUnit, 0)],
    ["CPU ms: daemon process", cpu(o, "daemon"), "–", "–", "–"],
    ["CPU ms: agents / worker process", cpu(o, "agents"), ...costs.slice(1).map((c) => cpu(c, "worker"))],
    ["CPU ms: submitting client (the bench runner)", ...costs.map((c) => cpu(c, "submitter"))],
    ["CPU ms: redis-server", ...costs.map((c) => cpu(c, "redis"))],
    ["CPU ms: Postgres (all backends)", ...costs.map((c) => cpu(c, "postgres"))],
    [
      `Machine busy during the phase (all ${nproc} cores)`,
      ...costs.map((c) => (c?.cpu ? `${Math.round(c.cpu.machineBusy * 100)} %` : "–")),
    ],
    ["CPU ms per task, all processes", ...sides.map((side) => num(cpuMsPerTask(side), 2))],
  ];
  return markdownTable(rows, ["l", "r", "r", "r", "r"]);
}

interface CostShape {
  redis?: { commandsPerUnit: number; scriptsPerUnit: number; cpuUsPerUnit: number };
  cpu?: { cpuMsPer1k: Record<string, number>; machineBusy: number };
}

export function machineLine(m: Machine): string {
  return (
    `${m.date.slice(0, 10)} · ${m.cpuModel}, nproc ${m.nproc}, ${m.memoryGiB} GiB RAM, ${m.os} · ` +
    `Node ${m.node}, Redis ${m.redis}, PostgreSQL ${m.postgres}, BullMQ ${m.bullmq}` +
    (m.commit ? ` · commit ${m.commit}` : "")
  );
}

/** The generated block of docs/performance.md (also printed). */
export function resultsMarkdown(r: BenchResults): string {
  const p = r.params;
  const slots = p.agents * p.agentConcurrency;
  const n = p.tasks.toLocaleString("en-US");
  const counts = r.reassign
    .map((run) => {
      const dropped = (run.overseer?.discarded ?? 0) + (run.bullmq?.discarded ?? 0);
      const note =
        dropped > 0 ? ` (${run.overseer?.discarded ?? 0} / ${run.bullmq?.discarded ?? 0} discarded)` : "";
      return `${sec(run.heartbeatMs)}: ${run.overseer?.summary?.n ?? 0} / ${run.bullmq?.summary?.n ?? 0}${note}`;
    })
    .join(", ");
  const lines = [
    `Machine: ${machineLine(r.machine)}. Run took ${Math.round(r.durationMs / 1000)} s.`,
    "",
    resultsTable(r),
    "",
    `- Throughput rows: N = ${n} tasks (jobs) per phase; ${p.agents} SDK agents × ${p.agentConcurrency} slots ` +
      `(one BullMQ Worker, SKIP LOCKED worker or graphile-worker runner, concurrency ${slots}); ` +
      `${p.submitConcurrency} submissions in flight (\`POST /api/tasks\` vs \`Queue.add\`, one \`INSERT\`, ` +
      "`addJob`). Above 1× Overseer is faster.",
    "- Reassign rows: Overseer heartbeat interval / dead-after vs BullMQ stalledInterval / lockDuration; " +
      `samples per side (Overseer / BullMQ): ${counts}. Percentiles are nearest-rank over the raw samples, ` +
      "so with 20 samples p99 is the slowest one. Below 1× Overseer is faster.",
    "",
    costTable(r.throughput, r.machine.nproc),
  ];
  if (r.reassignSessions) {
    lines.push(
      "",
      "**A crashed agent's task, claimed elsewhere: sessions against heartbeats and BullMQ**",
      "",
      reassignSessionsMarkdown(r.reassignSessions),
    );
  }
  const scale = scaleMarkdown(r.scale);
  if (scale) lines.push("", "**Scale, fan-out, pipeline execute and failover**", "", scale);
  if (r.errors.length > 0)
    lines.push("", "**Errors in this run:**", "", ...r.errors.map((e) => `- ${e.split("\n")[0]}`));
  return lines.join("\n");
}

export const DOC_BEGIN =
  "<!-- bench:results:begin (generated by `npm run bench`; edits here are overwritten) -->";
export const DOC_END = "<!-- bench:results:end -->";

/** Replaces the generated block of a Markdown document (appends one when there is none). */
export function spliceResults(doc: string, block: string): string {
  const start = doc.indexOf(DOC_BEGIN);
  const end = doc.indexOf(DOC_END);
  const generated = `${DOC_BEGIN}\n\n${block}\n\n${DOC_END}`;
  if (start === -1 || end === -1 || end < start) return `${doc.trimEnd()}\n\n${generated}\n`;
  return doc.slice(0, start) + generated + doc.slice(end + DOC_END.length);
}

export function writeJson(path: string, results: BenchResults): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}

export function updateDoc(path: string, results: BenchResults): void {
  let doc = "";
  try {
    doc = readFileSync(path, "utf8");
  } catch {
    doc = "# Performance\n";
  }
  writeFileSync(path, spliceResults(doc, resultsMarkdown(results)));
}
