// Diagnostic, not part of `npm run bench`: counts what one task costs in round trips. The daemon
// runs as a child process (default settings) behind counting proxies for Redis and Postgres; SDK
// agents process PROBE_TASKS zero-work tasks submitted while they are idle (as in the end-to-end
// phase). Prints Redis commands (Lua scripts by name), Postgres statements and HTTP requests per task.
//   npx tsx bench/probe/round-trips.ts   (PROBE_TASKS=500, PROBE_AGENTS=4, PROBE_CONCURRENCY=16,
//                                         PROBE_SUBMIT_CONCURRENCY=64, PROBE_SUBMIT_PAUSE_MS=0)
import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { namespaceDb } from "../../test/helpers/namespace-cleanup.ts";
import { killAllChildren, nextMessage, send, spawnTs, stopChild } from "../support/children.ts";
import { startBenchDaemon } from "../support/daemon.ts";
import { runEmergencyCleanups } from "../support/emergency.ts";
import { benchNamespace, DATABASE_URL, REDIS_URL, TOKENS } from "../support/services.ts";
import { boundedRun, sleep, until } from "../support/timing.ts";
import { pgParser, respParser, startProxy } from "./wire-proxy.ts";

const TASKS = Number(process.env.PROBE_TASKS ?? 500);
const AGENTS = Number(process.env.PROBE_AGENTS ?? 4);
const CONCURRENCY = Number(process.env.PROBE_CONCURRENCY ?? 16);
/** Submissions in flight; 1 with a pause between them shows the path of a task meeting idle agents. */
const SUBMIT_CONCURRENCY = Number(process.env.PROBE_SUBMIT_CONCURRENCY ?? 64);
const SUBMIT_PAUSE_MS = Number(process.env.PROBE_SUBMIT_PAUSE_MS ?? 0);
const TYPE = "probe.rt";

/** sha1 → BullMQ script name, for labelling EVALSHA. */
async function bullScripts(): Promise<Map<string, string>> {
  const dir = fileURLToPath(new URL("../../node_modules/bullmq/dist/esm/scripts/", import.meta.url));
  const names = new Map<string, string>();
  for (const file of readdirSync(dir).filter((f) => /-\d+\.js$/.test(f))) {
    const mod = (await import(pathToFileURL(dir + file).href)) as Record<
      string,
      { name: string; content: string }
    >;
    for (const script of Object.values(mod)) {
      if (script?.content)
        names.set(createHash("sha1").update(script.content).digest("hex"), `bullmq:${script.name}`);
    }
  }
  return names;
}

/** A key with ids and the namespace blanked, e.g. "ovs:{*}:leases:*". */
function keyShape(key: string): string {
  return key.replace(/\{[^}]*\}/, "{*}").replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, "*");
}

function normalizeSql(sql: string): string {
  return sql.replace(/\s+/g, " ").trim().slice(0, 90);
}

type Counts = Map<string, number>;
const bump = (m: Counts) => (k: string) => m.set(k, (m.get(k) ?? 0) + 1);
const diff = (after: Counts, before: Counts) =>
  [...after].map(([k, n]) => [k, n - (before.get(k) ?? 0)] as const).filter(([, n]) => n > 0);

async function httpCounts(url: string): Promise<Counts> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Counts = new Map();
  for (const m of text.matchAll(/^overseer_http_request_duration_seconds_count\{([^}]*)\} (\d+)/gm)) {
    const labels = Object.fromEntries(
      [...(m[1] as string).matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]),
    );
    out.set(`${labels.method} ${labels.route} ${labels.status_code}`, Number(m[2]));
  }
  return out;
}

function print(title: string, rows: ReadonlyArray<readonly [string, number]>, per: number): void {
  const total = rows.reduce((s, [, n]) => s + n, 0);
  console.log(`\n${title}: ${(total / per).toFixed(2)} per task`);
  for (const [k, n] of [...rows].sort((a, b) => b[1] - a[1]))
    console.log(`  ${(n / per).toFixed(2).padStart(7)}  ${k}`);
}

async function main(): Promise<void> {
  const scripts = await bullScripts();
  const redisCounts: Counts = new Map();
  const pgCounts: Counts = new Map();
  const r = new URL(REDIS_URL);
  const d = new URL(DATABASE_URL);
  const redisProxy = await startProxy(
    r.hostname,
    Number(r.port || 6379),
    respParser((args) => {
      const cmd = (args[0] ?? "").toLowerCase();
      if (cmd === "evalsha" || cmd === "eval") {
        const sha =
          cmd === "eval"
            ? createHash("sha1")
                .update(args[1] ?? "")
                .digest("hex")
            : (args[1] ?? "");
        return `evalsha ${scripts.get(sha) ?? `script(${keyShape(args[3] ?? "")})`}`;
      }
      return `${cmd} ${keyShape(args[1] ?? "")}`.trim();
    }),
    bump(redisCounts),
  );
  const pgProxy = await startProxy(
    d.hostname,
    Number(d.port || 5432),
    pgParser(normalizeSql),
    bump(pgCounts),
  );
  const viaProxy = (u: URL, port: number) => {
    const copy = new URL(u.href);
    copy.port = String(port);
    return copy.href;
  };
  const namespace = benchNamespace("probe");
  const daemon = await startBenchDaemon(namespace, {
    REDIS_URL: viaProxy(r, redisProxy.port),
    DATABASE_URL: viaProxy(d, pgProxy.port),
  });
  const fleet = spawnTs(
    "agent fleet",
    "bench/load/agent-fleet.ts",
    {
      OVERSEER_URL: daemon.url,
      OVERSEER_AGENT_SECRET: TOKENS.agentSecret,
      FLEET_AGENTS: String(AGENTS),
      FLEET_CONCURRENCY: String(CONCURRENCY),
      FLEET_TYPES: TYPE,
    },
    { ipc: true },
  );
  const db = await namespaceDb(namespace);
  try {
    await nextMessage(fleet, (m) => m.type === "loaded", 20_000, "load generator");
    send(fleet, { type: "start" });
    await nextMessage(fleet, (m) => m.type === "started", 20_000, "agents registered");

    // Idle background: heartbeats, liveness sweeps, leader renewals, waiting claims.
    await sleep(1_000);
    const idleR = new Map(redisCounts);
    const idleP = new Map(pgCounts);
    const idleMs = 5_000;
    await sleep(idleMs);
    print(`Idle (${AGENTS} agents), Redis commands per second`, diff(redisCounts, idleR), idleMs / 1000);
    print("Idle, Postgres statements per second", diff(pgCounts, idleP), idleMs / 1000);

    const r0 = new Map(redisCounts);
    const p0 = new Map(pgCounts);
    const h0 = await httpCounts(daemon.url);
    const t0 = Date.now();
    await boundedRun(TASKS, SUBMIT_CONCURRENCY, async (i) => {
      const res = await daemon.api("POST", "/api/tasks", { type: TYPE, payload: { n: i } });
      if (res.status !== 202) throw new Error(`submit answered ${res.status}`);
      if (SUBMIT_PAUSE_MS > 0) await sleep(SUBMIT_PAUSE_MS);
    });
    await until(
      async () =>
        (await db.query("SELECT count(*)::int AS n FROM tasks WHERE state = 'completed'")).rows[0].n >= TASKS,
      { timeoutMs: 120_000, everyMs: 100, what: "completion" },
    );
    const ms = Date.now() - t0;
    const r1 = new Map(redisCounts);
    const p1 = new Map(pgCounts);
    const h1 = await httpCounts(daemon.url);
    console.log(
      `\n${TASKS} tasks submitted while ${AGENTS}×${CONCURRENCY} slots were idle, all completed in ${ms} ms`,
    );
    console.log(
      "(per-task figures include ~" +
        `${((ms / 1000) * 100) / TASKS}`.slice(0, 4) +
        "% of a second of idle background per task)",
    );
    print("Redis commands (client round trips; pipelined ones counted singly)", diff(r1, r0), TASKS);
    print("Postgres statements (each one round trip)", diff(p1, p0), TASKS);
    print("HTTP requests to the daemon", diff(h1, h0), TASKS);
  } finally {
    await db.end().catch(() => {});
    await stopChild(fleet.proc);
    await daemon.close();
    await redisProxy.close();
    await pgProxy.close();
  }
}

main().then(
  () => process.exit(0),
  async (error) => {
    console.error(error);
    killAllChildren();
    await runEmergencyCleanups();
    process.exit(1);
  },
);
