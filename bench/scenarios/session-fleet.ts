import { markdownTable } from "../markdown-table.ts";
import { ratio, type Summary } from "../stats.ts";
import { type Child, nextMessage, send, spawnTs, stopChild } from "../support/children.ts";
import { cpuSnapshot, cpuWindow } from "../support/cpu.ts";
import { startBenchDaemon } from "../support/daemon.ts";
import { benchNamespace, round, TOKENS } from "../support/services.ts";
import { sleep } from "../support/timing.ts";
import { type RedisLatencyResult, redisHeartbeatBenchmark } from "./redis-heartbeat-benchmark.ts";

export interface SessionFleetParams {
  /** Simulated agents, each on its own session, heartbeating at 1 Hz. */
  agents: number;
  /** Length of the measurement window, ms. */
  durationMs: number;
  /** redis-benchmark -n for the heartbeat-like script; 0 skips it. */
  redisRequests: number;
  /**
   * Extra environment of the daemon, for experiments only (e.g. NODE_OPTIONS, a longer
   * OVERSEER_RECONCILE_INTERVAL_MS); the acceptance figure is with none.
   */
  daemonEnv?: Record<string, string>;
}

/** The acceptance goals for 10,000 session agents at 1 Hz on one replica. */
export const SESSION_FLEET_GOALS = {
  /** Every heartbeat offered is answered. */
  answeredShare: 1,
  p99Ms: 10,
  daemonCores: 0.5,
} as const;

/** Registrations (each followed by its session's handshake) in flight at once. */
export const SESSION_REGISTER_CONCURRENCY = 32;

const HZ = 1;

export interface SessionFleetResult {
  params: SessionFleetParams;
  namespace: string;
  /** Registration over HTTP plus the session handshake, for every agent. */
  registration: { agents: number; ms: number; perSec: number };
  heartbeats: {
    windowMs: number;
    targetPerSec: number;
    /** Heartbeats sent per second (below the target when agents skipped a turn). */
    offeredPerSec: number;
    /** Heartbeats answered 200 per second. */
    achievedPerSec: number;
    sent: number;
    ok: number;
    /** Turns skipped because that agent's previous heartbeat was still unanswered. */
    skipped: number;
    /** Answers other than 200 (by status and code), and sessions that closed with one in flight. */
    errors: Record<string, number>;
    /** Still unanswered when the window closed (at most one per agent). */
    unanswered: number;
    /** From the frame handed to the socket to its answer parsed in the load generator. */
    latencyMs: Summary | null;
    /** The load generator's own event-loop delay in the window (its share of the latency). */
    loadGeneratorLoopDelayMs: LoopDelay;
    sessionsOpen: number;
    /** Sessions the daemon closed (or that broke) during the window, and their close codes. */
    closedInWindow: number;
    closeCodes: Record<string, number>;
  };
  /** CPU cores used on average during the window (1 = one core busy the whole time), by process. */
  cpu: {
    daemonCores: number;
    loadGeneratorCores: number;
    redisCores: number;
    postgresCores: number;
    benchRunnerCores: number;
    /** Daemon CPU µs per heartbeat answered. */
    daemonUsPerHeartbeat: number | null;
    machineBusy: number;
    /** Cores busy outside the processes above (other work on a shared machine: a run to repeat). */
    otherCores: number;
  };
  /** Ceiling: redis-benchmark running the heartbeat's Redis work, measured first in the same run. */
  redis: RedisLatencyResult | null;
  ratios: {
    /** Heartbeat p99 over a session / the Redis script's p99. */
    heartbeatP99: number | null;
    /** Heartbeats answered per second / script calls per second Redis can serve. */
    rateOfLimit: number | null;
  };
  /**
   * The daemon's event-loop delay in the window (its /metrics, read at both ends), when it has it.
   * The histogram is reset in the middle of the opening scrape, so `max` may be that scrape's tail.
   */
  daemonLoopDelayMs: LoopDelay | null;
  /** How long one /metrics scrape of the daemon took right after the window, with every session open. */
  metricsScrapeMs: number;
  goalsMet: { answered: boolean; p99: boolean; daemonCpu: boolean };
  agentsByState: Record<string, number>;
  daemonProblems: Record<string, number>;
}

export interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
}

/**
 * prom-client samples the event loop every 10 ms (its default precision, which the daemon keeps) and
 * records whole intervals: the delay is what exceeds 10 ms.
 */
const PROM_LOOP_RESOLUTION_MS = 10;

/**
 * The daemon's event-loop delay since its previous scrape (prom-client resets its
 * monitorEventLoopDelay histogram at every collect), from one /metrics scrape.
 */
async function daemonLoopDelay(url: string): Promise<LoopDelay | null> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  const read = (name: string) => {
    const m = new RegExp(
      `^overseer_nodejs_eventloop_lag_${name}_seconds(?:\\{[^}]*\\})? ([\\d.e+-]+)$`,
      "m",
    ).exec(text);
    return m ? Math.max(0, Number(m[1]) * 1000 - PROM_LOOP_RESOLUTION_MS) : null;
  };
  const [p50, p99, max] = [read("p50"), read("p99"), read("max")];
  return p50 == null || p99 == null || max == null ? null : { p50, p99, max };
}

type FleetReport = SessionFleetResult["heartbeats"] & { type: string };

/**
 * "10k session agents": one daemon (defaults, one replica), `agents` agents registered over HTTP,
 * each holding its own agent session (a WebSocket) from one load-generator process and sending a
 * heartbeat over it at 1 Hz, spread evenly over the second. First, before the daemon exists, the
 * ceiling: redis-benchmark running the heartbeat's Redis script (50 clients, no pipelining).
 * After registration and two more heartbeat periods, a window of `durationMs` measures:
 * - heartbeats offered (sent) and answered 200 per second; turns skipped because the previous
 *   heartbeat of that agent was unanswered; answers by error code; sessions closed on us;
 * - latency per heartbeat, from the frame handed to the load generator's socket to its answer
 *   parsed there (so the load generator's own event loop is in it; the daemon's group commit of
 *   heartbeats into one Redis pipeline too);
 * - CPU of the daemon, the load generator, Redis, Postgres and this runner, from /proc between two
 *   snapshots at the window's ends, in cores; daemon CPU per heartbeat answered; what the rest of
 *   the machine used meanwhile (on a shared machine, a busy neighbour inflates the latency);
 * - event-loop delay of the daemon (its /metrics, scraped just before and just after the window)
 *   and of the load generator: where the latency piles up when a process stalls.
 * Then each agent's state on the daemon, and the sessions close with a goodbye.
 */
export async function sessionFleet(p: SessionFleetParams): Promise<SessionFleetResult> {
  // The ceiling needs the machine to itself: it runs before the daemon exists.
  const redis = p.redisRequests > 0 ? await redisHeartbeatBenchmark(p.redisRequests, p.agents) : null;

  const namespace = benchNamespace("sessions");
  // No overrides: agent sessions are not feed connections (the OVERSEER_WS_MAX_CLIENTS* caps do not
  // apply to them), and the acceptance is about the default heartbeat interval and dead-after.
  const daemon = await startBenchDaemon(namespace, p.daemonEnv ?? {});
  const daemonPid = daemon.child.proc.pid ?? 0;
  const children: Child[] = [];
  try {
    const fleet = spawnTs(
      "session fleet",
      "bench/load/session-fleet.ts",
      {
        OVERSEER_URL: daemon.url,
        OVERSEER_AGENT_SECRET: TOKENS.agentSecret,
        FLEET_AGENTS: String(p.agents),
        FLEET_HZ: String(HZ),
        FLEET_REGISTER_CONCURRENCY: String(SESSION_REGISTER_CONCURRENCY),
      },
      { ipc: true },
    );
    children.push(fleet);
    await nextMessage(fleet, (m) => m.type === "loaded", 15_000, "loaded");
    send(fleet, { type: "register" });
    const reg = await nextMessage<{ type: string; ms: number; message?: string }>(
      fleet,
      (m) => m.type === "registered" || m.type === "error",
      Math.max(60_000, p.agents * 60),
      "agents registered",
    );
    if (reg.type === "error") throw new Error(`session fleet: ${reg.message}`);
    // Every agent goes through at least two heartbeat periods before the window opens.
    await sleep(2_000 / HZ);

    // Resets the daemon's event-loop histogram; the scrape itself stalls the daemon (it lists every
    // open descriptor), so the window opens a second later: the histogram spans that second too.
    await daemonLoopDelay(daemon.url);
    await sleep(1_000);
    send(fleet, { type: "measure" });
    const pids = { daemon: [daemonPid], fleet: [fleet.proc.pid ?? 0], runner: [process.pid] };
    const cpu0 = cpuSnapshot(pids);
    await sleep(p.durationMs);
    const cpu1 = cpuSnapshot(pids);
    send(fleet, { type: "report" });
    const hb = await nextMessage<FleetReport>(fleet, (m) => m.type === "report", 15_000, "report");
    const scrapeStart = performance.now();
    const daemonLoopDelayMs = await daemonLoopDelay(daemon.url);
    const metricsScrapeMs = round(performance.now() - scrapeStart, 1);

    const status = await daemon.api<{ byState?: Record<string, number> }>(
      "GET",
      "/api/dashboard/agents/status?limit=99999",
      undefined,
      TOKENS.viewer,
    );
    send(fleet, { type: "stop" });
    await nextMessage(fleet, (m) => m.type === "stopped", 30_000, "fleet stopped").catch(() => null);

    const spent = cpuWindow(cpu0, cpu1);
    const redisOk = redis?.installed ? redis : null;
    const { type: _type, ...heartbeats } = hb;
    const cpu = {
      daemonCores: spent.cores("daemon"),
      loadGeneratorCores: spent.cores("fleet"),
      redisCores: spent.cores("redis"),
      postgresCores: spent.cores("postgres"),
      benchRunnerCores: spent.cores("runner"),
      daemonUsPerHeartbeat: hb.ok > 0 ? round((spent.usedMs("daemon") * 1000) / hb.ok, 1) : null,
      machineBusy: spent.machineBusy,
      otherCores: spent.otherCores,
    };
    return {
      params: p,
      namespace,
      registration: { agents: p.agents, ms: reg.ms, perSec: round((p.agents * 1000) / Math.max(1, reg.ms)) },
      heartbeats,
      cpu,
      redis,
      ratios: {
        heartbeatP99: ratio(hb.latencyMs?.p99, redisOk?.latencyMs.p99),
        rateOfLimit: ratio(hb.achievedPerSec, redisOk?.opsPerSec),
      },
      daemonLoopDelayMs,
      metricsScrapeMs,
      goalsMet: {
        // Every heartbeat of the target rate answered 200 (a skipped turn or an error is a miss).
        answered:
          hb.skipped === 0 &&
          Object.keys(hb.errors).length === 0 &&
          hb.ok + hb.unanswered >= hb.sent &&
          hb.offeredPerSec >= SESSION_FLEET_GOALS.answeredShare * hb.targetPerSec * 0.99,
        p99: (hb.latencyMs?.p99 ?? Number.POSITIVE_INFINITY) < SESSION_FLEET_GOALS.p99Ms,
        daemonCpu: cpu.daemonCores < SESSION_FLEET_GOALS.daemonCores,
      },
      agentsByState: status.body?.byState ?? {},
      daemonProblems: daemon.problems(),
    };
  } finally {
    for (const child of children.reverse()) await stopChild(child.proc, "SIGTERM", 5_000);
    await daemon.close();
  }
}

const int = (n: number | null | undefined) =>
  n == null || !Number.isFinite(n) ? "–" : Math.round(n).toLocaleString("en-US");
const ms = (n: number | null | undefined) =>
  n == null || !Number.isFinite(n) ? "–" : n >= 100 ? int(n) : n.toFixed(n >= 10 ? 1 : 2);
const x = (n: number | null | undefined) => (n == null || !Number.isFinite(n) ? "–" : `${n.toFixed(2)}×`);
const pct = (n: number | null | undefined) =>
  n == null || !Number.isFinite(n) ? "–" : `${(n * 100).toFixed(n < 0.1 ? 1 : 0)} %`;
const loop = (d: LoopDelay | null | undefined) => (d ? `${ms(d.p99)} / ${ms(d.max)}` : "–");
const met = (ok: boolean) => (ok ? "yes" : "**no**");

/** The acceptance table: each figure beside its goal and the redis-benchmark ceiling of the same run. */
export function sessionFleetMarkdown(r: SessionFleetResult): string {
  const hb = r.heartbeats;
  const rb = r.redis?.installed ? r.redis : null;
  const none = r.redis && !r.redis.installed ? r.redis.note : "not run";
  const n = int(r.params.agents);
  const target = int(hb.targetPerSec);
  const rows: string[][] = [
    ["Measure", "Overseer (sessions)", "Goal", "Met", "redis-benchmark ceiling", "Overseer / ceiling"],
    ["Heartbeats offered (per s)", int(hb.offeredPerSec), target, "–", "–", "–"],
    [
      "Heartbeats answered 200 (per s)",
      int(hb.achievedPerSec),
      `${target} (all)`,
      met(r.goalsMet.answered),
      rb ? `${int(rb.opsPerSec)} ops/s` : none,
      pct(r.ratios.rateOfLimit),
    ],
    [
      "Heartbeat latency p50 (ms)",
      ms(hb.latencyMs?.p50),
      "–",
      "–",
      rb ? ms(rb.latencyMs.p50) : none,
      x(ratio(hb.latencyMs?.p50, rb?.latencyMs.p50)),
    ],
    [
      "Heartbeat latency p99 (ms)",
      ms(hb.latencyMs?.p99),
      `< ${SESSION_FLEET_GOALS.p99Ms}`,
      met(r.goalsMet.p99),
      rb ? ms(rb.latencyMs.p99) : none,
      x(r.ratios.heartbeatP99),
    ],
    [
      "Daemon CPU (cores)",
      r.cpu.daemonCores.toFixed(2),
      `< ${SESSION_FLEET_GOALS.daemonCores}`,
      met(r.goalsMet.daemonCpu),
      "–",
      "–",
    ],
    [
      "Daemon CPU per heartbeat answered (µs)",
      int(r.cpu.daemonUsPerHeartbeat),
      `< ${int((SESSION_FLEET_GOALS.daemonCores * 1e6) / Math.max(1, hb.targetPerSec))}`,
      "–",
      "–",
      "–",
    ],
    ["Load generator CPU (cores)", r.cpu.loadGeneratorCores.toFixed(2), "–", "–", "–", "–"],
    ["Daemon event-loop delay p99 / max (ms)", loop(r.daemonLoopDelayMs), "–", "–", "–", "–"],
    ["Load generator event-loop delay p99 / max (ms)", loop(hb.loadGeneratorLoopDelayMs), "–", "–", "–", "–"],
    ["Redis CPU (cores)", r.cpu.redisCores.toFixed(2), "–", "–", "–", "–"],
  ];
  const errors = Object.entries(hb.errors)
    .map(([k, v]) => `${k}: ${int(v)}`)
    .join(", ");
  const closes = Object.entries(hb.closeCodes)
    .map(([k, v]) => `${k}: ${int(v)}`)
    .join(", ");
  const states = Object.entries(r.agentsByState)
    .map(([k, v]) => `${k} ${int(v)}`)
    .join(", ");
  const notes = [
    `${n} agents, one session (WebSocket) each, heartbeating at ${HZ} Hz from one load-generator process, ` +
      `against one daemon; window ${int(hb.windowMs)} ms. Registration over HTTP plus the session ` +
      `handshake: ${int(r.registration.ms)} ms (${int(r.registration.perSec)} agents/s, ` +
      `${SESSION_REGISTER_CONCURRENCY} at a time).`,
    `Sent ${int(hb.sent)}, answered 200 ${int(hb.ok)}, skipped (previous unanswered) ${int(hb.skipped)}, ` +
      `unanswered at the end ${int(hb.unanswered)}; errors: ${errors || "none"}. Sessions open ` +
      `${int(hb.sessionsOpen)}, closed during the window ${int(hb.closedInWindow)}` +
      `${closes ? ` (codes ${closes})` : ""}. Agents by state after the window: ${states || "–"}.`,
    `Latency: from the frame handed to the load generator's socket to its answer parsed there. ` +
      `Machine busy ${pct(r.cpu.machineBusy)}; Postgres ${r.cpu.postgresCores.toFixed(2)} cores, ` +
      `bench runner ${r.cpu.benchRunnerCores.toFixed(2)} cores, other processes on the machine ` +
      `${r.cpu.otherCores.toFixed(2)} cores${r.cpu.otherCores >= 0.2 ? " (a shared machine: repeat the run)" : ""}. ` +
      `One /metrics scrape after the window: ${ms(r.metricsScrapeMs)} ms.`,
    rb
      ? `Ceiling: redis-benchmark, ${rb.command}, ${rb.clients} clients, no pipelining, ` +
        `${int(rb.requests)} requests, run before the daemon started.`
      : `Ceiling: ${none}.`,
  ];
  return [markdownTable(rows, ["l", "r", "r", "l", "r", "r"]), "", ...notes].join("\n");
}
