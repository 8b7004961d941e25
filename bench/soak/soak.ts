// `npm run soak`: Overseer under steady load for SOAK_MINUTES with a churning agent fleet; samples
// memory, event-loop delay, Redis and Postgres growth to JSONL and prints a growth verdict per
// series (the rule: bench/soak/summary.ts, docs/soak.md). Two daemon replicas share one fresh
// namespace with short retention, so the plateau shows within the run. Everything it starts is a
// child process stopped by pid; the namespace is dropped at the end (or on Ctrl-C).
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dropNamespace, namespaceDb } from "../../test/helpers/namespace-cleanup.ts";
import { killAllChildren } from "../support/children.ts";
import { onEmergency, runEmergencyCleanups } from "../support/emergency.ts";
import { benchNamespace, redisClient } from "../support/services.ts";
import { sleep } from "../support/timing.ts";
import { ChurningFleet } from "./fleet.ts";
import { SteadyLoad } from "./load.ts";
import { type Replica, startReplica, stopReplica } from "./replicas.ts";
import {
  cpuSeconds,
  pgTables,
  redisNamespace,
  rssMiB,
  type SoakSample,
  scrape,
  vacuumNamespace,
} from "./sampler.ts";
import { formatTable, type SeriesSummary, summarize } from "./summary.ts";

export interface SoakConfig {
  minutes: number;
  tasksPerS: number;
  runsPerMin: number;
  sampleEveryS: number;
  /** Keep of every retention class (OVERSEER_RETENTION_TASKS/RUNS/HISTORY/LLM_CALLS/AUDIT). */
  retention: string;
  retentionInterval: string;
  agentProcesses: number;
  churnEveryS: number;
  /** The verdict's tolerance (summary.ts). */
  tolerance: number;
  /**
   * Seconds between VACUUMs of the namespace's tables, 0 = never; null = decide at start: every
   * 60 s (autovacuum_naptime's default) when the server's autovacuum is off, never when it is on.
   */
  vacuumEveryS: number | null;
  out: string;
}

const num = (env: NodeJS.ProcessEnv, key: string, fallback: number): number => {
  const raw = env[key];
  if (raw === undefined || raw === "") return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${key} must be a positive number, got "${raw}"`);
  return v;
};

export function soakConfig(env: NodeJS.ProcessEnv = process.env): SoakConfig {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  return {
    minutes: num(env, "SOAK_MINUTES", 60),
    tasksPerS: num(env, "SOAK_TASKS_PER_S", 10),
    runsPerMin: num(env, "SOAK_RUNS_PER_MIN", 12),
    sampleEveryS: num(env, "SOAK_SAMPLE_S", 30),
    retention: env["SOAK_RETENTION"] || "3m",
    retentionInterval: env["SOAK_RETENTION_INTERVAL"] || "30s",
    agentProcesses: num(env, "SOAK_AGENT_PROCESSES", 3),
    churnEveryS: num(env, "SOAK_CHURN_S", 60),
    tolerance: num(env, "SOAK_GROWTH_TOLERANCE", 0.1),
    vacuumEveryS:
      env["SOAK_VACUUM_S"] === undefined || env["SOAK_VACUUM_S"] === ""
        ? null
        : env["SOAK_VACUUM_S"] === "0"
          ? 0
          : num(env, "SOAK_VACUUM_S", 60),
    out: env["SOAK_OUT"] || fileURLToPath(new URL(`../results/soak-${stamp}.jsonl`, import.meta.url)),
  };
}

export interface SoakResult {
  config: SoakConfig;
  namespace: string;
  samples: SoakSample[];
  summary: SeriesSummary[];
  table: string;
  totals: SoakSample["counters"] & {
    shed: number;
    agentKills: number;
    fleetFailures: number;
    vacuums: number;
    vacuumMs: number;
  };
  /** The server's autovacuum setting and the stand-in VACUUM interval used (0 = none). */
  vacuum: { serverAutovacuum: string; everyS: number };
  problems: Record<string, number>;
  lastErrors: { load: string; fleet: string };
}

export async function runSoak(
  config: SoakConfig,
  log: (line: string) => void = console.log,
): Promise<SoakResult> {
  const namespace = benchNamespace("soak");
  const forget = onEmergency(() => dropNamespace(namespace));
  mkdirSync(dirname(config.out), { recursive: true });
  const daemonEnv = {
    OVERSEER_RETENTION_INTERVAL_MS: config.retentionInterval,
    OVERSEER_RETENTION_TASKS: config.retention,
    OVERSEER_RETENTION_RUNS: config.retention,
    OVERSEER_RETENTION_HISTORY: config.retention,
    OVERSEER_RETENTION_LLM_CALLS: config.retention,
    OVERSEER_RETENTION_AUDIT: config.retention,
  };
  const replicas: Replica[] = [];
  const redis = redisClient();
  const db = await namespaceDb(namespace);
  // Autovacuum is what makes the space of deleted rows reusable. A server with it off (as some test
  // servers run) would show every table growing in bytes however flat its rows are, so the soak
  // then stands in for it with a plain VACUUM on autovacuum's default cadence.
  const autovacuum = (await db.query<{ autovacuum: string }>("SHOW autovacuum")).rows[0]?.autovacuum ?? "?";
  const vacuumEveryS = config.vacuumEveryS ?? (autovacuum === "off" ? 60 : 0);
  writeFileSync(
    config.out,
    `${JSON.stringify({ type: "config", namespace, ...config, serverAutovacuum: autovacuum, vacuumEveryS })}\n`,
  );
  let vacuums = 0;
  let vacuumMs = 0;
  let fleet: ChurningFleet | undefined;
  let load: SteadyLoad | undefined;
  const samples: SoakSample[] = [];
  try {
    for (const i of [0, 1]) replicas.push(await startReplica(i, namespace, daemonEnv));
    const urls = replicas.map((r) => r.url);
    log(
      `soak ${namespace}: replicas ${urls.join(", ")}; server autovacuum ${autovacuum}, soak VACUUM every ${vacuumEveryS || "-"} s; samples → ${config.out}`,
    );
    fleet = new ChurningFleet(urls, config.agentProcesses, config.churnEveryS * 1000, {});
    await fleet.start();
    load = new SteadyLoad(urls, config.tasksPerS, config.runsPerMin);
    const t0 = performance.now();
    load.start();

    const durationMs = config.minutes * 60_000;
    let nextVacuumMs = vacuumEveryS * 1000;
    for (let k = 1; ; k++) {
      // Samples on a fixed grid from the start, whatever one sample took.
      const due = k * config.sampleEveryS * 1000;
      if (due > durationMs + 1) break;
      // Between samples: the stand-in VACUUM when it is due (it shares the sampler's connection).
      while (vacuumEveryS > 0 && nextVacuumMs < due && performance.now() - t0 < due) {
        await sleep(Math.max(0, nextVacuumMs - (performance.now() - t0)));
        vacuumMs += await vacuumNamespace(db, namespace);
        vacuums++;
        nextVacuumMs += vacuumEveryS * 1000;
      }
      await sleep(Math.max(0, due - (performance.now() - t0)));
      const sample = await takeSample(
        namespace,
        replicas,
        redis,
        db,
        load,
        fleet,
        (performance.now() - t0) / 1000,
      );
      samples.push(sample);
      appendFileSync(config.out, `${JSON.stringify({ type: "sample", ...sample })}\n`);
      const g = sample.gauges;
      log(
        `${sample.elapsedS.toFixed(0)}s rss ${Object.values(g.daemons)
          .map((d) => d.rssMiB?.toFixed(0) ?? "-")
          .join("/")} MiB, lag p99 ${Object.values(g.daemons)
          .map((d) => d.eventLoopLagP99Ms?.toFixed(1) ?? "-")
          .join(
            "/",
          )} ms, redis ns ${g.redis.namespaceKeys} keys ${g.redis.namespaceKiB.toFixed(0)} KiB, pg ${g.pg.totalMiB.toFixed(1)} MiB (tasks ${g.pg.tables["tasks"]?.rows ?? 0}, runs ${g.pg.tables["pipeline_runs"]?.rows ?? 0}), submitted ${sample.counters.tasksSubmitted}+${sample.counters.runsSubmitted}, deleted ${sample.counters.retentionDeletedRows}`,
      );
    }
  } finally {
    await load?.stop().catch(() => {});
    await fleet?.stop().catch(() => {});
    await Promise.all(replicas.map((r) => stopReplica(r).catch(() => {})));
    redis.disconnect();
    await db.end().catch(() => {});
    await dropNamespace(namespace).catch((e) => log(`dropping ${namespace} failed: ${(e as Error).message}`));
    forget();
  }
  const summary = summarize(samples, config.minutes * 60, config.tolerance);
  const last = samples.at(-1)?.counters;
  const totals = {
    cpuSeconds: last?.cpuSeconds ?? {},
    leader: last?.leader ?? {},
    tasksSubmitted: load.tasksSubmitted,
    runsSubmitted: load.runsSubmitted,
    submitErrors: load.errors,
    agentsReplaced: fleet.replaced,
    tasksCompleted: last?.tasksCompleted ?? 0,
    runsCompleted: last?.runsCompleted ?? 0,
    retentionDeletedRows: last?.retentionDeletedRows ?? 0,
    shed: load.shed,
    vacuums,
    vacuumMs: Math.round(vacuumMs),
    agentKills: fleet.killed,
    fleetFailures: fleet.failures,
  };
  const problems: Record<string, number> = {};
  for (const r of replicas)
    for (const [k, v] of Object.entries(r.problems)) problems[`replica ${r.index}: ${k}`] = v;
  const table = formatTable(summary);
  const result = {
    config,
    namespace,
    samples,
    summary,
    table,
    totals,
    problems,
    lastErrors: { load: load.lastError, fleet: fleet.lastError },
    vacuum: { serverAutovacuum: autovacuum, everyS: vacuumEveryS },
  };
  appendFileSync(
    config.out,
    `${JSON.stringify({ type: "summary", summary, totals, problems, lastErrors: result.lastErrors })}\n`,
  );
  return result;
}

async function takeSample(
  namespace: string,
  replicas: Replica[],
  redis: ReturnType<typeof redisClient>,
  db: Awaited<ReturnType<typeof namespaceDb>>,
  load: SteadyLoad,
  fleet: ChurningFleet,
  elapsedS: number,
): Promise<SoakSample> {
  const daemons: SoakSample["gauges"]["daemons"] = {};
  const cpu: Record<string, number | null> = {};
  const leader: Record<string, number | null> = {};
  let tasksCompleted = 0;
  let runsCompleted = 0;
  let deleted = 0;
  for (const r of replicas) {
    const m = await scrape(r.url);
    const get = (name: string) => m?.get(name) ?? null;
    const lag = get("overseer_nodejs_eventloop_lag_p99_seconds");
    const heap = get("overseer_nodejs_heap_size_used_bytes");
    daemons[`replica${r.index}`] = {
      rssMiB: rssMiB(r.child.proc.pid),
      heapUsedMiB: heap === null ? null : heap / 2 ** 20,
      eventLoopLagP99Ms: lag === null ? null : lag * 1000,
    };
    cpu[`replica${r.index}`] = cpuSeconds(r.child.proc.pid);
    leader[`replica${r.index}`] = get("overseer_leader");
    tasksCompleted += get("overseer_tasks_completed_total") ?? 0;
    runsCompleted += get("overseer_pipeline_runs_finished_total") ?? 0;
    deleted += get("overseer_retention_deleted_rows_total") ?? 0;
  }
  return {
    at: new Date().toISOString(),
    elapsedS,
    gauges: {
      daemons,
      redis: await redisNamespace(redis, namespace),
      pg: await pgTables(db, namespace),
    },
    counters: {
      tasksSubmitted: load.tasksSubmitted,
      runsSubmitted: load.runsSubmitted,
      submitErrors: load.errors,
      agentsReplaced: fleet.replaced,
      cpuSeconds: cpu,
      leader,
      tasksCompleted,
      runsCompleted,
      retentionDeletedRows: deleted,
    },
  };
}

async function main(): Promise<void> {
  const config = soakConfig();
  let interrupted = false;
  const interrupt = (signal: string) => {
    if (interrupted) return;
    interrupted = true;
    console.error(`soak: ${signal}, stopping children and dropping the namespace`);
    killAllChildren();
    void runEmergencyCleanups().finally(() => process.exit(130));
  };
  process.on("SIGINT", () => interrupt("SIGINT"));
  process.on("SIGTERM", () => interrupt("SIGTERM"));
  console.log(`soak: ${JSON.stringify(config)}`);
  const result = await runSoak(config);
  console.log(`\nsoak ${result.namespace}: ${config.minutes} min; totals ${JSON.stringify(result.totals)}`);
  console.log(`daemon warnings/errors: ${JSON.stringify(result.problems)}`);
  console.log(
    `last load error: ${result.lastErrors.load || "none"}; last fleet error: ${result.lastErrors.fleet || "none"}`,
  );
  console.log(
    `\nVerdict rule: GROWS when mean(last quarter) > mean(second quarter) × (1 + ${config.tolerance}) AND slope(second half) × its span > ${config.tolerance} × mean(second quarter); else BOUNDED.\n`,
  );
  console.log(result.table);
  const grows = result.summary.filter((s) => s.verdict === "grows").map((s) => s.series);
  const short = result.summary.filter((s) => s.verdict === "too short").length;
  console.log(
    `\n${grows.length === 0 ? "no series grows" : `GROWING: ${grows.join(", ")}`}${short ? ` (${short} series too short to judge)` : ""}; samples: ${config.out}`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((error) => {
    console.error(error);
    killAllChildren();
    void runEmergencyCleanups().finally(() => process.exit(1));
  });
}
