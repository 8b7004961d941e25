// One chaos run: own Redis and Postgres, 3 replicas, an agent fleet, a steady load, the fault
// timeline, a bounded drain, then the checker over everything collected. `npm run chaos`
// (bench/chaos/main.ts) and the CI smoke test (test/chaos/chaos-smoke.test.ts) both call runChaos.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { schemaFor } from "../../daemon/store/migrate.ts";
import { freePort } from "../support/daemon.ts";
import { onEmergency } from "../support/emergency.ts";
import { TOKENS } from "../support/services.ts";
import { sleep } from "../support/timing.ts";
import { AgentFleet } from "./agents.ts";
import { type ChaosVerdict, checkChaos } from "./checker.ts";
import { buildTimeline, type ChaosConfig, NAMESPACE } from "./config.ts";
import { injectFault } from "./faults.ts";
import type { Accepted, AgentReport, ChaosRecords, FaultRecord, LeaderTerm, Unresolved } from "./records.ts";
import { ReplicaSet } from "./replicas.ts";
import { deathLines, reportText } from "./report.ts";
import { Scraper } from "./scraper.ts";
import { ChaosPostgres, ChaosRedis } from "./services.ts";
import { Submitter } from "./submitter.ts";

export const REPLICAS = 3;
/** Attempts per task: a fault costs at most one (agent killed mid-task, lease expired in a pause). */
export const TASK_MAX_ATTEMPTS = 10;

export interface ChaosOutcome {
  verdict: ChaosVerdict;
  records: ChaosRecords;
  /** The printed report: timeline table, process events, results. */
  text: string;
  dir: string;
  reportFile: string;
  stats: Record<string, unknown>;
}

/** The replicas' environment: short liveness timings (like test/helpers/test-env.ts daemonEnv). */
function replicaEnv(c: ChaosConfig, redisUrl: string, databaseUrl: string): Record<string, string> {
  return {
    OVERSEER_NAMESPACE: NAMESPACE,
    HOST: "127.0.0.1",
    REDIS_URL: redisUrl,
    DATABASE_URL: databaseUrl,
    OVERSEER_EMBEDDED: "false",
    OVERSEER_CANARY_ENABLED: "false",
    // info: the "overseer is running" line carries the replica id the checker matches to leader_terms.
    LOG_LEVEL: "info",
    OVERSEER_ADMIN_TOKEN: TOKENS.admin,
    OVERSEER_OPERATOR_TOKEN: TOKENS.operator,
    OVERSEER_VIEWER_TOKEN: TOKENS.viewer,
    OVERSEER_AGENT_SECRET: TOKENS.agentSecret,
    OVERSEER_HEARTBEAT_INTERVAL_MS: "500",
    OVERSEER_AGENT_DEAD_AFTER_MS: "3000",
    OVERSEER_RETRY_BASE_MS: "100",
    OVERSEER_RETRY_MAX_MS: "1000",
    OVERSEER_RECONCILE_INTERVAL_MS: "1000",
    OVERSEER_SHUTDOWN_GRACE_MS: "5000",
    OVERSEER_LEADER_LEASE_MS: String(c.leaseMs),
    // Pipeline step tasks take the default: the same headroom as the submitted tasks.
    OVERSEER_DEFAULT_MAX_ATTEMPTS: String(TASK_MAX_ATTEMPTS),
  };
}

function readJsonl<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as T);
}

const ms = (d: Date | null) => (d === null ? null : d.getTime());

/** What Postgres holds at the end, for the checker. */
async function collectFromPostgres(
  db: pg.Client,
): Promise<Pick<ChaosRecords, "taskStates" | "runStates" | "completedAttempts" | "leaderTerms" | "deaths">> {
  const tasks = await db.query<{ id: string; state: string }>("SELECT id::text, state FROM tasks");
  const runs = await db.query<{ id: string; state: string }>("SELECT id::text, state FROM pipeline_runs");
  const attempts = await db.query<{ task_id: string; n: number }>(
    "SELECT task_id::text, count(*)::int AS n FROM task_attempts WHERE outcome = 'completed' GROUP BY task_id",
  );
  const deaths = await db.query<{ agent_id: string; name: string; reason: string; lost: number }>(
    `SELECT a.id::text AS agent_id, a.name, t.reason,
            (SELECT count(*)::int FROM task_attempts x WHERE x.agent_id = a.id AND x.outcome = 'lost') AS lost
       FROM agent_transitions t JOIN agents a ON a.id = t.agent_id WHERE t.to_state = 'dead'`,
  );
  const exists = await db.query<{ t: string | null }>("SELECT to_regclass('leader_terms')::text AS t");
  let leaderTerms: LeaderTerm[] | null = null;
  if (exists.rows[0]?.t) {
    const terms = await db.query<{
      epoch: string;
      replica_id: string;
      acquired_at: Date;
      actions: string;
      first_action_at: Date | null;
      last_action_at: Date | null;
    }>("SELECT * FROM leader_terms ORDER BY epoch");
    leaderTerms = terms.rows.map((t) => ({
      epoch: Number(t.epoch),
      replicaId: t.replica_id,
      acquiredAt: t.acquired_at.getTime(),
      actions: Number(t.actions),
      firstActionAt: ms(t.first_action_at),
      lastActionAt: ms(t.last_action_at),
    }));
  }
  return {
    taskStates: Object.fromEntries(tasks.rows.map((r) => [r.id, r.state])),
    runStates: Object.fromEntries(runs.rows.map((r) => [r.id, r.state])),
    completedAttempts: Object.fromEntries(attempts.rows.map((r) => [r.task_id, r.n])),
    deaths: deaths.rows.map((r) => ({
      agentId: r.agent_id,
      name: r.name,
      // The reasons the daemon writes (daemon/agents/agent-sessions.ts, liveness-sweeper.ts).
      cause: r.reason.startsWith("session lost")
        ? "disconnect"
        : r.reason.startsWith("no heartbeat")
          ? "heartbeat"
          : "other",
      lostAttempts: r.lost,
    })),
    leaderTerms,
  };
}

/** Waits (bounded) until every accepted task and run is terminal; returns how many are not. */
async function drain(
  postgres: ChaosPostgres,
  submitter: Submitter,
  timeoutMs: number,
  log: (l: string) => void,
): Promise<number> {
  const taskIds = submitter.accepted.filter((a) => a.kind === "task").map((a) => a.id);
  const runIds = submitter.accepted.filter((a) => a.kind === "run").map((a) => a.id);
  const deadline = Date.now() + timeoutMs;
  let open = Number.POSITIVE_INFINITY;
  let lastLog = 0;
  while (Date.now() < deadline) {
    let db: pg.Client | undefined;
    try {
      db = await postgres.client(schemaFor(NAMESPACE));
      const t = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM tasks WHERE id::text = ANY($1::text[]) AND state IN ('completed', 'failed', 'dead')",
        [taskIds],
      );
      const r = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pipeline_runs WHERE id::text = ANY($1::text[]) AND state IN ('completed', 'failed', 'cancelled')",
        [runIds],
      );
      open = taskIds.length - (t.rows[0]?.n ?? 0) + runIds.length - (r.rows[0]?.n ?? 0);
      if (open === 0) return 0;
      if (Date.now() - lastLog > 10_000) {
        log(`drain: ${open} accepted tasks/runs not terminal yet`);
        lastLog = Date.now();
      }
    } catch (error) {
      log(`drain: query failed (${(error as Error).message})`);
    } finally {
      await db?.end().catch(() => {});
    }
    await sleep(1000);
  }
  return open;
}

export async function runChaos(
  c: ChaosConfig,
  log: (line: string) => void = console.log,
): Promise<ChaosOutcome> {
  const dir = c.outDir ?? mkdtempSync(join(tmpdir(), "overseer-chaos-"));
  mkdirSync(dir, { recursive: true });
  // Postgres runs as user postgres and must reach its directory below this one.
  chmodSync(dir, 0o755);
  const servicesDir = join(dir, "services");
  let redis: ChaosRedis | undefined;
  let postgres: ChaosPostgres | undefined;
  let replicas: ReplicaSet | undefined;
  let fleet: AgentFleet | undefined;
  let scraper: Scraper | undefined;
  let submitter: Submitter | undefined;
  const emergencyStop = () => {
    redis?.killNow();
    postgres?.killNow();
    rmSync(servicesDir, { recursive: true, force: true });
  };
  const forget = onEmergency(async () => emergencyStop());
  try {
    log(`chaos: records in ${dir}`);
    redis = await ChaosRedis.start(join(servicesDir, "redis"));
    postgres = await ChaosPostgres.start(join(servicesDir, "pg"));
    log(`chaos: redis ${redis.url} (AOF, appendfsync always), postgres ${postgres.url}`);
    const ports: number[] = [];
    for (let i = 0; i < REPLICAS; i++) ports.push(await freePort());
    replicas = new ReplicaSet(ports, replicaEnv(c, redis.url, postgres.url));
    // The first alone (it runs the migrations), then the others.
    for (let i = 0; i < REPLICAS; i++) await replicas.start(i);
    log(`chaos: replicas ${replicas.urls.join(" ")}`);
    fleet = new AgentFleet({
      urls: replicas.urls,
      agentSecret: TOKENS.agentSecret,
      dir,
      workers: c.workerAgents,
      workerConcurrency: c.workerConcurrency,
      workerWorkMs: c.workerWorkMs,
    });
    await fleet.start();
    log(`chaos: ${fleet.agents.length} agents registered`);
    scraper = new Scraper(replicas);
    scraper.start();
    const recordFile = join(dir, "client-records.jsonl");
    submitter = new Submitter({
      urls: replicas.urls,
      operatorToken: TOKENS.operator,
      tasksPerSec: c.tasksPerSec,
      runsPerSec: c.runsPerSec,
      recordFile,
      // Longer than the Postgres outage: a submission waiting it out is still accepted later.
      giveUpMs: c.postgresOutageMs + 60_000,
      maxInFlight: 200,
      taskMaxAttempts: TASK_MAX_ATTEMPTS,
    });
    const loadStart = Date.now();
    submitter.start();
    log(`chaos: load started (${c.tasksPerSec} tasks/s, ${c.runsPerSec} runs/s for ${c.loadMs / 1000} s)`);

    const faults: FaultRecord[] = [];
    const targets = { config: c, replicas, scraper, fleet, redis, postgres, log };
    for (const planned of buildTimeline(c)) {
      const wait = loadStart + planned.atMs - Date.now();
      if (wait > 0) await sleep(wait);
      log(`chaos: +${((Date.now() - loadStart) / 1000).toFixed(1)}s ${planned.kind} …`);
      const f = await injectFault(planned.kind, targets);
      faults.push(f);
      log(
        `chaos: ${f.kind} on ${f.target}: ${new Date(f.start).toISOString()} → ${new Date(f.end).toISOString()} (${f.detail ?? ""})`,
      );
    }
    const rest = loadStart + c.loadMs - Date.now();
    if (rest > 0) await sleep(rest);
    await submitter.stop();
    const loadEnd = Date.now();
    log(
      `chaos: load stopped after ${((loadEnd - loadStart) / 1000).toFixed(1)} s: ${submitter.stats.accepted} accepted, ` +
        `${submitter.stats.unresolved} unresolved, ${submitter.stats.retries} retries`,
    );
    const open = await drain(postgres, submitter, c.drainMs, log);
    log(`chaos: drained in ${((Date.now() - loadEnd) / 1000).toFixed(1)} s (${open} not terminal)`);
    // A few more scrapes: effects of the last fault may show after its recovery.
    const lastEnd = faults.at(-1)?.end ?? 0;
    const evidenceLeft = lastEnd + c.evidenceMs - Date.now();
    if (evidenceLeft > 0) await sleep(Math.min(evidenceLeft, c.evidenceMs));
    await scraper.stop();
    // Before the SIGTERM: an agent process that died during the run (not killed by a fault) is a finding.
    const agentsGone = fleet.deadOnTheirOwn();
    await fleet.stop();

    const db = await postgres.client(schemaFor(NAMESPACE));
    let fromPg: Awaited<ReturnType<typeof collectFromPostgres>>;
    try {
      fromPg = await collectFromPostgres(db);
    } finally {
      await db.end().catch(() => {});
    }
    type ClientLine = ({ type: "accepted" } & Accepted) | ({ type: "unresolved" } & Unresolved);
    const clientRecords = readJsonl<ClientLine>(recordFile);
    const records: ChaosRecords = {
      loadStart,
      // The client's own record as written during the run (one line per answer), not its memory.
      accepted: clientRecords.filter((x): x is ClientLine & { type: "accepted" } => x.type === "accepted"),
      unresolved: clientRecords.filter(
        (x): x is ClientLine & { type: "unresolved" } => x.type === "unresolved",
      ),
      ...fromPg,
      agentReports: fleet.reportFiles.flatMap((f) => readJsonl<AgentReport>(f)),
      faults,
      processEvents: replicas.events,
      samples: scraper.samples,
      incarnations: replicas.incarnations,
    };
    const verdict = checkChaos(records, { evidenceMs: c.evidenceMs });
    const stats = {
      loadMs: loadEnd - loadStart,
      submitter: submitter.stats,
      notTerminalAfterDrain: open,
      agentReports: records.agentReports.length,
      agentsExitedOnTheirOwn: agentsGone,
      agentDeaths: deathLines(records),
      replicaProblems: replicas.replicas.map((r) => r.problems),
    };
    const text = reportText(verdict, records);
    const reportFile = join(dir, "report.json");
    writeFileSync(
      reportFile,
      JSON.stringify(
        { config: c, ok: verdict.ok, checks: verdict.checks, timeline: verdict.timeline, stats },
        null,
        2,
      ),
    );
    writeFileSync(join(dir, "records.json"), JSON.stringify(records));
    return { verdict, records, text, dir, reportFile, stats };
  } finally {
    await submitter?.stop().catch(() => {});
    await scraper?.stop().catch(() => {});
    await fleet?.stop().catch(() => {});
    await replicas?.close().catch(() => {});
    await redis?.stop().catch(() => {});
    await postgres?.stopServer("fast").catch(() => postgres?.killNow());
    rmSync(servicesDir, { recursive: true, force: true });
    forget();
  }
}
