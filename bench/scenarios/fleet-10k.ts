import { ratio, type Summary, summarize } from "../stats.ts";
import { type Child, nextMessage, send, spawnTs, stopChild } from "../support/children.ts";
import { cpuSnapshot, cpuWindow } from "../support/cpu.ts";
import { feedCaps, startBenchDaemon } from "../support/daemon.ts";
import { peakRssMiB, rssMiB } from "../support/proc.ts";
import { benchNamespace, round, TOKENS } from "../support/services.ts";
import { sleep } from "../support/timing.ts";
import { type RedisLatencyResult, redisHeartbeatBenchmark } from "./redis-heartbeat-benchmark.ts";

export interface FleetParams {
  /** Simulated agents registered and heartbeating at 1 Hz. */
  agents: number;
  /** Length of the measurement window (heartbeat latency, CPU, reads), ms. */
  durationMs: number;
  /** WebSocket clients held open for the RSS reading (and by the bare `ws` baseline). */
  wsClients: number;
  /** /metrics scrapes of the daemon (and as many of the baseline), one at a time. */
  metricsScrapes: number;
  /** Reads of each dashboard endpoint (and as many of its baseline), one at a time. */
  dashboardReads: number;
  /** redis-benchmark -n for the heartbeat-like script; 0 skips it. */
  redisRequests: number;
  /** Keep-alive connections of the heartbeat load generator. */
  sockets: number;
  /**
   * Wait before each RSS reading after the reads, ms: the reads inflate the heap and GC returns it
   * later, so an unsettled "before" reading made the WebSocket clients' growth come out negative.
   */
  rssSettleMs: number;
}

/** Dashboard read endpoints (viewer role): every GET under /api/dashboard/ (api/routes/dashboard-routes.ts). */
export const DASHBOARD_READS = [
  "/api/dashboard/agents/status",
  "/api/dashboard/agents/heartbeat",
  "/api/dashboard/tasks/queue",
] as const;

/** Registrations in flight at once while the fleet registers. */
export const REGISTER_CONCURRENCY = 32;

export interface ReadComparison {
  path: string;
  /** Size of the body the daemon answered (the baseline serves the same body). */
  bytes: number;
  overseer: Summary;
  baseline: Summary;
  /** Overseer / baseline (lower is better for Overseer). */
  ratios: { p50: number | null; p99: number | null };
}

export interface FleetResult {
  params: FleetParams;
  namespace: string;
  registration: { agents: number; ms: number; perSec: number };
  heartbeats: {
    windowMs: number;
    targetPerSec: number;
    achievedPerSec: number;
    sent: number;
    ok: number;
    /** Turns skipped because that agent's previous heartbeat was still in flight. */
    skipped: number;
    errors: Record<string, number>;
    /** From the request having a connection to the end of the answer. */
    latencyMs: Summary | null;
    /** Before that: waiting for one of the load generator's keep-alive connections. */
    connectionWaitMs: Summary | null;
  };
  /** CPU cores used on average during the window (1 = one core busy the whole time), by process. */
  cpu: {
    daemonCores: number;
    loadGeneratorCores: number;
    redisCores: number;
    postgresCores: number;
    benchRunnerCores: number;
    /** Daemon CPU ms per 1,000 heartbeats answered. */
    daemonMsPer1kHeartbeats: number | null;
    machineBusy: number;
  };
  /** Baseline: redis-benchmark running the heartbeat's Redis work (one script call per heartbeat). */
  redis: RedisLatencyResult | null;
  ratios: {
    /** Heartbeat p99 over HTTP / the Redis script's p99 (lower is better for Overseer). */
    heartbeatP99: number | null;
    /** Heartbeats answered per second / script calls per second Redis can serve (the share of the limit used). */
    rateOfLimit: number | null;
  };
  metrics: ReadComparison & { series: number };
  dashboard: ReadComparison[];
  rss: {
    idleMiB: number | null;
    /** Largest reading during the window (reads of up to a few MiB of JSON going on). */
    windowPeakMiB: number | null;
    agentsMiB: number | null;
    agentsAndWsMiB: number | null;
    /**
     * The same daemon idle holding the WebSocket clients (no agents, no reads before): the clients'
     * growth is read here, because after the reads GC returns memory at unpredictable times and
     * the difference came out negative.
     */
    idleWsMiB: number | null;
    wsClientsConnectMs: number | null;
    /** A bare `ws` server process: empty, then holding the same number of clients. */
    wsBaseline: { emptyMiB: number | null; withClientsMiB: number | null };
    ratios: {
      /** RSS with the fleet / the same daemon idle. */
      agentsVsIdle: number | null;
      /** RSS growth from the WS clients / the bare ws server's growth from as many. */
      wsGrowthVsBareWs: number | null;
    };
  };
  agentsByState: Record<string, number>;
  daemonProblems: Record<string, number>;
}

async function timed(url: string, token?: string): Promise<{ ms: number; text: string }> {
  const t0 = performance.now();
  const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await response.text();
  const ms = performance.now() - t0;
  if (response.status !== 200) throw new Error(`GET ${url}: ${response.status} ${text.slice(0, 200)}`);
  return { ms, text };
}

/**
 * Alternates `count` reads of the daemon and of its baseline, one at a time, so that both see the
 * same load on the machine.
 */
async function compareReads(
  path: string,
  daemonUrl: string,
  baselineUrl: string,
  count: number,
  token?: string,
): Promise<ReadComparison> {
  const o: number[] = [];
  const b: number[] = [];
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const r = await timed(daemonUrl, token);
    o.push(r.ms);
    bytes = Buffer.byteLength(r.text);
    b.push((await timed(baselineUrl)).ms);
  }
  const os = summarize(o);
  const bs = summarize(b);
  return {
    path,
    bytes,
    overseer: os,
    baseline: bs,
    ratios: { p50: ratio(os.p50, bs.p50), p99: ratio(os.p99, bs.p99) },
  };
}

function spawnIpc(name: string, entry: string, env: Record<string, string>): Child {
  return spawnTs(name, entry, env, { ipc: true });
}

/** Opens `clients` viewer WebSocket clients on the daemon's task feed, held by their own process. */
async function holdWsClients(
  daemonUrl: string,
  clients: number,
  children: Child[],
): Promise<{ connectMs: number; release: () => Promise<void> }> {
  const holders = spawnIpc("ws holders", "bench/load/ws-holders.ts", {
    WS_URL: `${daemonUrl.replace(/^http/, "ws")}/api/dashboard/ws/tasks`,
    WS_TOKEN: TOKENS.viewer,
    WS_CLIENTS: String(clients),
  });
  children.push(holders); // stopped by the scenario's finally if anything below throws
  const release = () => stopChild(holders.proc, "SIGTERM", 5_000);
  try {
    await nextMessage(holders, (m) => m.type === "loaded", 15_000, "loaded");
    send(holders, { type: "connect" });
    const connected = await nextMessage<{ type: string; ms: number }>(
      holders,
      (m) => m.type === "connected" || m.type === "error",
      120_000,
      "WebSocket clients connected",
    );
    if (connected.type === "error") throw new Error(`ws holders: ${JSON.stringify(connected)}`);
    return { connectMs: connected.ms, release };
  } catch (err) {
    await release();
    throw err;
  }
}

/** RSS of a bare `ws` server process, empty and holding `clients` clients. */
async function bareWsRss(clients: number): Promise<FleetResult["rss"]["wsBaseline"]> {
  const server = spawnIpc("ws baseline", "bench/support/ws-baseline-server.ts", {});
  let holders: Child | undefined;
  try {
    const { port } = await nextMessage<{ type: string; port: number }>(
      server,
      (m) => m.type === "listening",
      15_000,
      "listening",
    );
    const pid = server.proc.pid ?? 0;
    await sleep(1_000);
    const emptyMiB = await peakRssMiB(pid, 5, 200);
    holders = spawnIpc("ws holders (baseline)", "bench/load/ws-holders.ts", {
      WS_URL: `ws://127.0.0.1:${port}`,
      WS_CLIENTS: String(clients),
    });
    await nextMessage(holders, (m) => m.type === "loaded", 15_000, "loaded");
    send(holders, { type: "connect" });
    await nextMessage(holders, (m) => m.type === "connected", 60_000, "clients connected");
    await sleep(1_000);
    const withClientsMiB = await peakRssMiB(pid, 5, 200);
    return { emptyMiB, withClientsMiB };
  } finally {
    if (holders) await stopChild(holders.proc, "SIGTERM", 5_000);
    if (server.proc.connected) send(server, { type: "stop" });
    await stopChild(server.proc, "SIGTERM", 5_000);
  }
}

/**
 * "10k fleet": one daemon, `agents` simulated agents heartbeating at 1 Hz from a load-generator
 * process; during a window of `durationMs`: heartbeat latency and achieved rate, CPU per process,
 * /metrics scrapes and dashboard reads (each alternated with its baseline); then RSS with the fleet,
 * and with `wsClients` WebSocket clients held open by another process on top.
 */
export async function fleet10k(p: FleetParams): Promise<FleetResult> {
  // Baselines that need the machine to themselves run first, before the daemon exists.
  const redis = p.redisRequests > 0 ? await redisHeartbeatBenchmark(p.redisRequests, p.agents) : null;
  const wsBaseline = await bareWsRss(p.wsClients);

  const namespace = benchNamespace("fleet");
  // The RSS reading's clients all use the viewer token: the caps are raised to their number.
  const daemon = await startBenchDaemon(namespace, feedCaps(p.wsClients));
  const daemonPid = daemon.child.proc.pid ?? 0;
  const children: Child[] = [];
  try {
    const baseline = spawnIpc("read baselines", "bench/support/baseline-http-server.ts", {});
    children.push(baseline);
    const { port } = await nextMessage<{ type: string; port: number }>(
      baseline,
      (m) => m.type === "listening",
      15_000,
      "listening",
    );
    const baseUrl = `http://127.0.0.1:${port}`;

    // Idle: no agents, no WebSocket clients, after start-up settled; then the clients alone.
    await sleep(2_000);
    const idleMiB = await peakRssMiB(daemonPid, 5, 200);
    const idleWs = await holdWsClients(daemon.url, p.wsClients, children);
    await sleep(p.rssSettleMs);
    const idleWsMiB = await peakRssMiB(daemonPid, 10, 200);
    await idleWs.release();

    const fleet = spawnIpc("heartbeat fleet", "bench/load/heartbeat-fleet.ts", {
      OVERSEER_URL: daemon.url,
      OVERSEER_AGENT_SECRET: TOKENS.agentSecret,
      FLEET_AGENTS: String(p.agents),
      FLEET_SOCKETS: String(p.sockets),
      FLEET_REGISTER_CONCURRENCY: String(REGISTER_CONCURRENCY),
    });
    children.push(fleet);
    await nextMessage(fleet, (m) => m.type === "loaded", 15_000, "loaded");
    send(fleet, { type: "register" });
    const reg = await nextMessage<{ type: string; ms: number }>(
      fleet,
      (m) => m.type === "registered" || m.type === "error",
      Math.max(60_000, p.agents * 30),
      "agents registered",
    );
    if (reg.type === "error") throw new Error(`heartbeat fleet: ${JSON.stringify(reg)}`);
    // Every agent goes through at least two heartbeat periods before the window opens.
    await sleep(2_000);

    // Bodies for the baselines: the daemon's own answers, captured once.
    const metricsText = (await timed(`${daemon.url}/metrics`)).text;
    const json: Record<string, unknown> = {};
    for (const path of DASHBOARD_READS)
      json[path.split("/").slice(3).join("_")] = JSON.parse(
        (await timed(`${daemon.url}${path}`, TOKENS.viewer)).text,
      );
    send(baseline, { type: "load", metrics: metricsText, json });
    const { series } = await nextMessage<{ type: string; series: number }>(
      baseline,
      (m) => m.type === "loaded-bodies",
      30_000,
      "baseline bodies loaded",
    );

    // The window.
    send(fleet, { type: "measure" });
    const pids = {
      daemon: [daemonPid],
      fleet: [fleet.proc.pid ?? 0],
      runner: [process.pid],
    };
    const cpu0 = cpuSnapshot(pids);
    const windowStart = performance.now();
    const rssSamples: number[] = [];
    const rssTimer = setInterval(() => {
      const v = rssMiB(daemonPid);
      if (v !== null) rssSamples.push(v);
    }, 500);
    let metrics: ReadComparison;
    const dashboard: ReadComparison[] = [];
    try {
      metrics = await compareReads(
        "/metrics",
        `${daemon.url}/metrics`,
        `${baseUrl}/metrics`,
        p.metricsScrapes,
      );
      for (const path of DASHBOARD_READS) {
        dashboard.push(
          await compareReads(
            path,
            `${daemon.url}${path}`,
            `${baseUrl}/json/${path.split("/").slice(3).join("_")}`,
            p.dashboardReads,
            TOKENS.viewer,
          ),
        );
      }
      const left = p.durationMs - (performance.now() - windowStart);
      if (left > 0) await sleep(left);
    } finally {
      clearInterval(rssTimer);
    }
    send(fleet, { type: "report" });
    const hb = await nextMessage<FleetResult["heartbeats"] & { type: string }>(
      fleet,
      (m) => m.type === "report",
      15_000,
      "heartbeat report",
    );
    const cpu1 = cpuSnapshot(pids);
    const { cores, usedMs, machineBusy } = cpuWindow(cpu0, cpu1);
    const windowPeakMiB = rssSamples.length > 0 ? Math.max(...rssSamples) : null;
    // Read the same way as with the WebSocket clients below (no reads going on, heartbeats still
    // flowing, the same settling time).
    await sleep(p.rssSettleMs);
    const agentsMiB = await peakRssMiB(daemonPid, 10, 200);

    // The WebSocket clients again, on top of the fleet.
    const holders = await holdWsClients(daemon.url, p.wsClients, children);
    await sleep(p.rssSettleMs);
    const agentsAndWsMiB = await peakRssMiB(daemonPid, 10, 200);

    const status = await daemon.api<{ byState?: Record<string, number> }>(
      "GET",
      "/api/dashboard/agents/status?limit=99999",
      undefined,
      TOKENS.viewer,
    );
    await holders.release();
    send(fleet, { type: "stop" });
    await nextMessage(fleet, (m) => m.type === "stopped", 20_000, "fleet stopped").catch(() => null);

    const achieved = hb.achievedPerSec;
    const redisOk = redis?.installed ? redis : null;
    const wsGrowth = idleWsMiB != null && idleMiB != null ? idleWsMiB - idleMiB : null;
    const bareGrowth =
      wsBaseline.withClientsMiB != null && wsBaseline.emptyMiB != null
        ? wsBaseline.withClientsMiB - wsBaseline.emptyMiB
        : null;
    return {
      params: p,
      namespace,
      registration: { agents: p.agents, ms: reg.ms, perSec: round((p.agents * 1000) / Math.max(1, reg.ms)) },
      heartbeats: {
        windowMs: hb.windowMs,
        targetPerSec: hb.targetPerSec,
        achievedPerSec: achieved,
        sent: hb.sent,
        ok: hb.ok,
        skipped: hb.skipped,
        errors: hb.errors,
        latencyMs: hb.latencyMs,
        connectionWaitMs: hb.connectionWaitMs,
      },
      cpu: {
        daemonCores: cores("daemon"),
        loadGeneratorCores: cores("fleet"),
        redisCores: cores("redis"),
        postgresCores: cores("postgres"),
        benchRunnerCores: cores("runner"),
        daemonMsPer1kHeartbeats: hb.ok > 0 ? round((usedMs("daemon") * 1000) / hb.ok, 1) : null,
        machineBusy,
      },
      redis,
      ratios: {
        heartbeatP99: ratio(hb.latencyMs?.p99, redisOk?.latencyMs.p99),
        rateOfLimit: ratio(achieved, redisOk?.opsPerSec),
      },
      metrics: { ...metrics, series },
      dashboard,
      rss: {
        idleMiB,
        windowPeakMiB,
        agentsMiB,
        agentsAndWsMiB,
        idleWsMiB,
        wsClientsConnectMs: holders.connectMs,
        wsBaseline,
        ratios: {
          agentsVsIdle: ratio(agentsMiB, idleMiB),
          wsGrowthVsBareWs: wsGrowth != null && wsGrowth > 0 ? ratio(wsGrowth, bareGrowth) : null,
        },
      },
      agentsByState: status.body?.byState ?? {},
      daemonProblems: daemon.problems(),
    };
  } finally {
    for (const child of children.reverse()) await stopChild(child.proc, "SIGTERM", 5_000);
    await daemon.close();
  }
}
