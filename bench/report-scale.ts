// The second results table of docs/performance.md: scale, fan-out, pipeline execute and failover,
// each figure beside the baseline measured in the same run. Each scenario's rows can also be printed
// alone (`npm run bench -- fleet-10k` etc.).

import { markdownTable } from "./markdown-table.ts";
import { type FleetResult, REGISTER_CONCURRENCY } from "./scenarios/fleet-10k.ts";
import type { FailoverResult } from "./scenarios/leader-failover.ts";
import type { PipelineRunsResult } from "./scenarios/pipeline-runs.ts";
import type { WsFanoutResult } from "./scenarios/ws-fanout.ts";
import { ratio } from "./stats.ts";

export interface ScaleResults {
  fleet: FleetResult | null;
  wsFanout: WsFanoutResult | null;
  pipelineRuns: PipelineRunsResult | null;
  failover: FailoverResult | null;
}

const int = (n: number | null | undefined) =>
  n == null || !Number.isFinite(n) ? "–" : Math.round(n).toLocaleString("en-US");
const ms = (n: number | null | undefined) =>
  n == null || !Number.isFinite(n) ? "–" : n >= 100 ? int(n) : n.toFixed(n >= 10 ? 1 : 2);
const x = (n: number | null | undefined) => (n == null || !Number.isFinite(n) ? "–" : `${n.toFixed(2)}×`);
const mib = (n: number | null | undefined) => (n == null || !Number.isFinite(n) ? "–" : n.toFixed(1));
const pct = (n: number | null | undefined) =>
  n == null || !Number.isFinite(n) ? "–" : `${(n * 100).toFixed(n < 0.1 ? 1 : 0)} %`;
const size = (bytes: number) =>
  bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(1)} MiB`
    : bytes >= 1024
      ? `${Math.round(bytes / 1024)} KiB`
      : `${bytes} B`;
const diff = (a: number | null | undefined, b: number | null | undefined) =>
  a == null || b == null ? null : a - b;

const HEADER = [
  "Scenario",
  "Overseer",
  "Baseline, measured in the same run",
  "Baseline",
  "Overseer / baseline",
];

export function fleetRows(f: FleetResult): string[][] {
  const n = int(f.params.agents);
  const hb = f.heartbeats;
  const rb = f.redis?.installed ? f.redis : null;
  const rbNote = f.redis && !f.redis.installed ? f.redis.note : "–";
  const rows: string[][] = [
    [
      `Heartbeats answered, ${n} agents at 1 Hz (per s)`,
      int(hb.achievedPerSec),
      "`redis-benchmark`: the heartbeat's Redis script, 50 clients (ops/s)",
      rb ? int(rb.opsPerSec) : rbNote,
      pct(f.ratios.rateOfLimit),
    ],
    [
      `Heartbeat latency, ${n} agents: p50 (ms)`,
      ms(hb.latencyMs?.p50),
      "… the same script: p50 (ms)",
      rb ? ms(rb.latencyMs.p50) : rbNote,
      x(ratio(hb.latencyMs?.p50, rb?.latencyMs.p50)),
    ],
    [
      `**Heartbeat latency, ${n} agents: p99 (ms)**`,
      `**${ms(hb.latencyMs?.p99)}**`,
      "… the same script: p99 (ms)",
      rb ? `**${ms(rb.latencyMs.p99)}**` : rbNote,
      `**${x(f.ratios.heartbeatP99)}**`,
    ],
    [
      "Daemon CPU under the heartbeat load (cores)",
      f.cpu.daemonCores.toFixed(2),
      "redis-server CPU in the same window (cores)",
      f.cpu.redisCores.toFixed(2),
      x(ratio(f.cpu.daemonCores, f.cpu.redisCores)),
    ],
    [
      `\`/metrics\` scrape, ${n} agents: p50 (ms)`,
      ms(f.metrics.overseer.p50),
      `bare prom-client Registry, the same ${int(f.metrics.series)} series: p50 (ms)`,
      ms(f.metrics.baseline.p50),
      x(f.metrics.ratios.p50),
    ],
    [
      `**\`/metrics\` scrape, ${n} agents: p99 (ms)**`,
      `**${ms(f.metrics.overseer.p99)}**`,
      "… p99 (ms)",
      `**${ms(f.metrics.baseline.p99)}**`,
      `**${x(f.metrics.ratios.p99)}**`,
    ],
  ];
  for (const d of f.dashboard) {
    rows.push([
      `\`GET ${d.path.replace("/api/dashboard", "…")}\` under the load: p99 (ms)`,
      ms(d.overseer.p99),
      `bare fastify route, the same JSON (${size(d.bytes)}): p99 (ms)`,
      ms(d.baseline.p99),
      x(d.ratios.p99),
    ]);
  }
  const r = f.rss;
  rows.push(
    [
      `**Daemon RSS, ${n} agents heartbeating (MiB)**`,
      `**${mib(r.agentsMiB)}**`,
      "the same daemon idle: 0 agents, 0 WebSocket clients (MiB)",
      `**${mib(r.idleMiB)}**`,
      `**${x(r.ratios.agentsVsIdle)}**`,
    ],
    [
      `**Daemon RSS, ${n} agents + ${int(f.params.wsClients)} WebSocket clients (MiB)**`,
      `**${mib(r.agentsAndWsMiB)}**`,
      "the same daemon idle (MiB)",
      `**${mib(r.idleMiB)}**`,
      `**${x(ratio(r.agentsAndWsMiB, r.idleMiB))}**`,
    ],
    [
      `… RSS added by the ${int(f.params.wsClients)} WebSocket clients to the idle daemon (MiB)`,
      wsAddedCell(diff(r.idleWsMiB, r.idleMiB)),
      `bare \`ws\` server process: RSS added by as many clients (MiB)`,
      mib(diff(r.wsBaseline.withClientsMiB, r.wsBaseline.emptyMiB)),
      x(r.ratios.wsGrowthVsBareWs),
    ],
  );
  return rows;
}

/** A fall in RSS while the clients connected is GC, not a negative cost: say so instead of a ratio. */
function wsAddedCell(growth: number | null): string {
  if (growth == null || growth > 0) return mib(growth);
  return `not measurable (RSS fell ${mib(-growth)} as GC returned memory)`;
}

export function wsRows(w: WsFanoutResult): string[][] {
  const n = int(w.params.clients);
  return [
    [
      `WebSocket fan-out to ${n} clients: p50 (ms)`,
      ms(w.overseer.p50),
      "bare `ws` broadcast, as many clients: p50 (ms; ratio divisor ≥ 1 ms)",
      ms(w.bareWs.p50),
      x(w.ratios.p50),
    ],
    [
      `**WebSocket fan-out to ${n} clients: p99 (ms)**`,
      `**${ms(w.overseer.p99)}**`,
      "… p99 (ms)",
      `**${ms(w.bareWs.p99)}**`,
      `**${x(w.ratios.p99)}**`,
    ],
  ];
}

export function pipelineRows(p: PipelineRunsResult): string[][] {
  const probe = p.overseer.loadedProbe;
  const runs = int(p.params.runs);
  return [
    [
      `**Pipeline execute, one caller, ${int(probe.inFlightAtStart)}–${int(probe.inFlightAtEnd)} runs in flight: p99 (ms)**`,
      `**${ms(probe.execute.p99)}**`,
      "raw Postgres one-row `INSERT` + commit, alternating with it: p99 (ms)",
      `**${ms(probe.insert.p99)}**`,
      `**${x(ratio(probe.execute.p99, probe.insert.p99))}**`,
    ],
    [
      `Pipeline execute, ${int(p.params.clients)} callers firing ${runs} runs: p99 (ms)`,
      ms(p.overseer.execute.latencyMs.p99),
      "raw BullMQ `Queue.add`, as many in flight: p99 (ms)",
      ms(p.bullmq.add.latencyMs.p99),
      x(p.ratios.vsBullmq.p99),
    ],
  ];
}

export function failoverRows(f: FailoverResult): string[][] {
  const lease = int(f.params.leaseMs);
  const k = f.kill.summary;
  const g = f.graceful.summary;
  return [
    [
      `Leader failover after SIGKILL: p50 (ms, n=${k?.n ?? 0})`,
      ms(k?.p50),
      "the configured leader lease, `OVERSEER_LEADER_LEASE_MS` (ms)",
      lease,
      x(f.ratios.killP50),
    ],
    [
      `**Leader failover after SIGKILL: p99 (ms)**`,
      `**${ms(k?.p99)}**`,
      "… (ms)",
      `**${lease}**`,
      `**${x(f.ratios.killP99)}**`,
    ],
    [
      `Leader handover on SIGTERM: p99 (ms, n=${g?.n ?? 0})`,
      ms(g?.p99),
      "… (ms)",
      lease,
      x(f.ratios.gracefulP99),
    ],
  ];
}

/** The notes under the scale table: what each row's sample is, and what else the run saw. */
export function scaleNotes(s: ScaleResults): string[] {
  const notes: string[] = [];
  const f = s.fleet;
  if (f) {
    const hb = f.heartbeats;
    const errors = Object.entries(hb.errors)
      .map(([k, v]) => `${v} × ${k}`)
      .join("; ");
    const states = Object.entries(f.agentsByState)
      .map(([k, v]) => `${k} ${int(v)}`)
      .join(", ");
    notes.push(
      `- Fleet rows: ${int(f.params.agents)} agents registered in ${(f.registration.ms / 1000).toFixed(1)} s ` +
        `(${int(f.registration.perSec)}/s, ${REGISTER_CONCURRENCY} at a time), then a ${Math.round(hb.windowMs / 1000)} s window: ` +
        `target ${int(hb.targetPerSec)} heartbeats/s, ${int(hb.ok)} answered 200 (${int(hb.achievedPerSec)}/s), ` +
        `${int(hb.skipped)} turns skipped because that agent's previous heartbeat was still in flight` +
        (errors ? `, errors: ${errors}` : ", no errors") +
        `. Agents by state at the end: ${states || "–"}. Latency p50 / p90 / p99 / max: ` +
        `${ms(hb.latencyMs?.p50)} / ${ms(hb.latencyMs?.p90)} / ${ms(hb.latencyMs?.p99)} / ${ms(hb.latencyMs?.max)} ms ` +
        `over ${int(hb.latencyMs?.n)} heartbeats, timed in the load generator from the request having one of ` +
        `its ${f.params.sockets} keep-alive connections to the end of the answer. Waiting for a free connection ` +
        `before that (the load generator's own queue): p50 ${ms(hb.connectionWaitMs?.p50)}, p99 ` +
        `${ms(hb.connectionWaitMs?.p99)} ms.`,
      `- CPU in the window, in cores: daemon ${f.cpu.daemonCores.toFixed(2)} ` +
        `(${f.cpu.daemonMsPer1kHeartbeats ?? "–"} ms per 1,000 heartbeats), load generator ` +
        `${f.cpu.loadGeneratorCores.toFixed(2)}, redis-server ${f.cpu.redisCores.toFixed(2)}, Postgres ` +
        `${f.cpu.postgresCores.toFixed(2)}, bench runner (reads) ${f.cpu.benchRunnerCores.toFixed(2)}; machine busy ` +
        `${pct(f.cpu.machineBusy)}. Storage limit: the heartbeats answered use ${pct(f.ratios.rateOfLimit)} of the ` +
        "script calls per second `redis-benchmark` got from the same Redis.",
      `- Reads: ${f.params.metricsScrapes} \`/metrics\` scrapes (${size(f.metrics.bytes)}, ` +
        `${int(f.metrics.series)} series) and ${f.params.dashboardReads} reads per dashboard endpoint, one at a ` +
        "time, each alternated with the same read of its baseline, during the heartbeat window. Daemon RSS " +
        `peaked at ${mib(f.rss.windowPeakMiB)} MiB meanwhile. RSS is the largest of 10 readings over 2 s, each ` +
        `after ${int(f.params.rssSettleMs / 1000)} s of settling: with the fleet, after the reads (heartbeats still ` +
        "flowing), without and with the WebSocket clients. Their own growth is read on the idle daemon before " +
        `the fleet (${mib(f.rss.idleWsMiB)} MiB with them): after the reads, GC returns memory at times of its ` +
        "own, and a difference taken there is noise.",
    );
  }
  const w = s.wsFanout;
  if (w)
    notes.push(
      `- Fan-out rows: ${int(w.params.clients)} clients on \`/api/dashboard/ws/tasks\`, ${w.params.events} task ` +
        `events one every 20 ms, ${int(w.overseer.n)} deliveries; latency from the event's \`at\` (the daemon's bus) ` +
        `to receipt. Redis pub/sub round trip in the same run: p50 ${ms(w.redisPubSub.p50)}, p99 ` +
        `${ms(w.redisPubSub.p99)} ms.`,
    );
  const p = s.pipelineRuns;
  if (p)
    notes.push(
      `- Pipeline rows: ${int(p.params.runs)} \`mission\` runs fired by ${p.params.clients} callers, then ` +
        `${p.overseer.loadedProbe.calls} executes by one caller while they are in flight; all runs completed ` +
        `${(p.overseer.completion.ms / 1000).toFixed(1)} s after the first call ` +
        `(${p.overseer.completion.runsPerSec} runs/s). Details: [Pipeline runs](#pipeline-runs-and-eta-accuracy).`,
    );
  const fo = s.failover;
  if (fo)
    notes.push(
      `- Failover rows: two replicas on one namespace, lease ${int(fo.params.leaseMs)} ms; signal → the ` +
        `survivor's \`overseer_leader\` gauge reads 1 (polled every ${fo.params.pollMs} ms). SIGKILL samples: ` +
        `${fo.kill.samplesMs.join(", ") || "–"} ms; SIGTERM samples: ${fo.graceful.samplesMs.join(", ") || "–"} ms.`,
    );
  return notes;
}

/** The scale table and its notes (Markdown), or "" when none of its scenarios ran. */
export function scaleMarkdown(s: ScaleResults): string {
  const rows: string[][] = [
    ...(s.fleet ? fleetRows(s.fleet) : []),
    ...(s.wsFanout ? wsRows(s.wsFanout) : []),
    ...(s.pipelineRuns ? pipelineRows(s.pipelineRuns) : []),
    ...(s.failover ? failoverRows(s.failover) : []),
  ];
  if (rows.length === 0) return "";
  return [
    markdownTable([HEADER, ...rows], ["l", "r", "l", "r", "r"]),
    "",
    ...scaleNotes(s),
    "- Ratios: Overseer / baseline; below 1× Overseer is faster or smaller." +
      (s.fleet
        ? " The heartbeat rate row gives the share of the storage limit used instead, and the CPU row the " +
          "daemon's CPU per unit of Redis CPU."
        : ""),
  ].join("\n");
}
