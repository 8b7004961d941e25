import { Redis } from "ioredis";
import pg from "pg";
import { expect, it } from "vitest";
import type { BenchConfig } from "../../bench/config.ts";
import { cpuMsPerTask, resultsMarkdown } from "../../bench/report.ts";
import { registration, registrationMarkdown } from "../../bench/scenarios/registration.ts";
import { scrapeStorm, scrapeStormMarkdown } from "../../bench/scenarios/scrape-storm.ts";
import { runSuite } from "../../bench/suite.ts";
import { DATABASE_URL, REDIS_URL } from "../helpers/test-env.ts";

// `npm run bench` at toy sizes: every scenario and baseline runs and yields numbers and ratios.
// Behaviour only: no assertion on speed (a shared 2-core machine running other suites is no place
// for that; the real numbers come from `npm run bench`).
const SMOKE: BenchConfig = {
  throughput: {
    tasks: 300,
    agents: 2,
    agentConcurrency: 8,
    submitConcurrency: 16,
    phaseTimeoutMs: 30_000,
    warmup: 0,
    settleMs: 200,
  },
  reassign: [{ heartbeatMs: 250, deadAfterMs: 750 }],
  reassignSamples: 3,
  reassignBudgetMs: 20_000,
  // No random wait before kills: it improves the distribution, which this test does not look at.
  reassignJitter: false,
  // The sessions' crash → claimed runs, the backlog one with a small backlog.
  reassignBacklog: 50,
  // Not part of the suite (npm run bench -- session-fleet); its own smoke test runs it small.
  sessionFleet: { agents: 10, durationMs: 1_000, redisRequests: 0 },
  full: false,
  redisBenchmarkRequests: 2_000,
  // The scale scenarios at toy sizes (the pipeline one has its own smoke test: pipeline-smoke.test.ts).
  fleet: {
    agents: 200,
    durationMs: 2_000,
    wsClients: 40,
    metricsScrapes: 5,
    dashboardReads: 5,
    redisRequests: 2_000,
    sockets: 16,
    rssSettleMs: 200,
  },
  wsFanout: { clients: 20, events: 10, pubsubSamples: 20 },
  failover: { samples: 1, leaseMs: 1_000, pollMs: 50 },
  pipelineRuns: null,
  scrapeStorm: { agents: 20, scrapers: 4, reads: 20 },
  registration: { agents: 40, concurrency: 8 },
};

const positive = (n: unknown) => typeof n === "number" && Number.isFinite(n) && n > 0;

it("runs every scenario and its baseline at small sizes, with finite numbers and ratios, and cleans up", async () => {
  const r = await runSuite(SMOKE);
  expect(r.errors).toEqual([]);

  const o = r.throughput.overseer!;
  const b = r.throughput.bullmq!;
  const s = r.throughput.skipLocked!;
  const g = r.throughput.graphileWorker!;
  for (const side of [o, b, s, g]) {
    for (const n of [
      side.submit.perSec,
      side.drain.perSec,
      side.endToEnd.perSec,
      side.endToEnd.submitPerSec,
    ]) {
      expect(n, JSON.stringify(side)).toSatisfy(positive);
    }
    expect(side.submit.latencyMs.n).toBe(300);
    expect(cpuMsPerTask(side), JSON.stringify(side.cost)).toSatisfy(positive);
  }
  expect(b.addBulk.perSec).toSatisfy(positive);
  expect(o.bulk?.perSec).toSatisfy(positive);
  expect(r.throughput.ratios.bulk).toSatisfy(positive);
  expect(o.checks).toMatchObject({ tasksByState: { completed: 600 }, attempts: 600, completions: 600 });
  expect(b.checks).toMatchObject({ jobCounts: { completed: 600, failed: 0 } });
  for (const k of ["submit", "drain", "endToEnd"] as const)
    expect(r.throughput.ratios[k]).toSatisfy(positive);
  // The Postgres peers: every job of both phases completed, and nothing left in their tables.
  for (const peer of [s, g]) {
    expect(peer.bulk.perSec).toSatisfy(positive);
    expect(peer.checks["completed"], JSON.stringify(peer.checks)).toBe(600);
    expect(peer.checks["jobsLeft"], JSON.stringify(peer.checks)).toEqual({});
  }
  for (const k of [
    "endToEndVsSkipLocked",
    "endToEndVsGraphileWorker",
    "bulkVsSkipLocked",
    "bulkVsGraphileWorker",
    "cpuPerTaskVsBullmq",
    "cpuPerTaskVsSkipLocked",
    "cpuPerTaskVsGraphileWorker",
  ] as const)
    expect(r.throughput.ratios[k], k).toSatisfy(positive);

  expect(r.reassign).toHaveLength(1);
  const run = r.reassign[0]!;
  for (const side of [run.overseer!, run.bullmq!]) {
    expect(side.samplesMs).toHaveLength(3);
    for (const ms of side.samplesMs) expect(ms).toSatisfy(positive);
    expect(side.summary!.p50).toSatisfy(positive);
    expect(side.summary!.p99).toBeGreaterThanOrEqual(side.summary!.p50);
  }
  expect(run.ratios.p50).toSatisfy(positive);
  expect(run.ratios.p99).toSatisfy(positive);
  const sessions = r.reassignSessions!;
  for (const side of [sessions.session!, sessions.sessionBacklog!]) {
    expect(side.samplesMs, JSON.stringify(side)).toHaveLength(3);
    for (const ms of side.samplesMs) expect(ms).toSatisfy(positive);
  }
  expect(sessions.sessionBacklog!.queuedAtKill).toHaveLength(3);
  expect(sessions.http).toBe(run.overseer);
  expect(sessions.ratios.bullmq.p99).toSatisfy(positive);
  expect(r.bullmqDefaults).toMatchObject({ measured: false, expectedRangeMs: [15_000, 60_000] });

  if (r.redisBenchmark?.installed) {
    for (const k of ["SET", "GET", "LPUSH", "LPOP"])
      expect(r.redisBenchmark.opsPerSec[k]).toSatisfy(positive);
  }

  const { fleet, wsFanout, failover } = r.scale;
  expect(fleet!.heartbeats.ok, JSON.stringify(fleet!.heartbeats)).toBeGreaterThan(0);
  expect(fleet!.heartbeats.latencyMs!.p99).toSatisfy(positive);
  expect(fleet!.registration.agents).toBe(200);
  // Not all 200: on a loaded machine a few may be stale at the end (the table reports the counts).
  expect(fleet!.agentsByState["active"]).toBeGreaterThan(0);
  expect(fleet!.cpu.daemonCores).toSatisfy(positive);
  expect(fleet!.metrics.series).toSatisfy(positive);
  expect(fleet!.metrics.ratios.p99).toSatisfy(positive);
  expect(fleet!.dashboard.map((d) => d.path)).toHaveLength(3);
  for (const d of fleet!.dashboard) expect(d.ratios.p99, d.path).toSatisfy(positive);
  for (const v of [fleet!.rss.idleMiB, fleet!.rss.agentsMiB, fleet!.rss.agentsAndWsMiB])
    expect(v).toSatisfy(positive);
  expect(fleet!.rss.ratios.agentsVsIdle).toSatisfy(positive);
  if (fleet!.redis?.installed) expect(fleet!.ratios.heartbeatP99).toSatisfy(positive);
  expect(wsFanout!.overseer.n).toBe(20 * 10);
  expect(wsFanout!.ratios.p99).toSatisfy(positive);
  expect(failover!.kill.samplesMs).toHaveLength(1);
  expect(failover!.graceful.samplesMs).toHaveLength(1);
  expect(failover!.ratios.killP99).toSatisfy(positive);

  const table = resultsMarkdown(r);
  expect(table).toContain("End to end");
  expect(table).toContain("Overseer / SKIP LOCKED");
  expect(table).toContain("Overseer / graphile-worker");
  expect(table).toContain("CPU ms per task, all processes");
  expect(table).toContain("Heartbeat latency");
  expect(table).toContain("Leader failover after SIGKILL");
  expect(table).toContain("WebSocket fan-out");
  expect(table).toContain("SDK agents on sessions");
  expect(table).toMatch(/\d\.\d\d×/);

  // Every namespace and key prefix is gone.
  const namespaces = [
    o.checks["namespace"],
    run.overseer!.scope,
    fleet!.namespace,
    wsFanout!.namespace,
    failover!.namespace,
  ] as string[];
  const prefixes = [b.checks["prefix"], run.bullmq!.scope] as string[];
  const db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  const redis = new Redis(REDIS_URL);
  try {
    const schemas = await db.query(
      "SELECT schema_name FROM information_schema.schemata WHERE schema_name = ANY($1)",
      [namespaces.map((ns) => `overseer_${ns}`)],
    );
    expect(schemas.rows).toEqual([]);
    // The peers' own schemas (bench_skl_<hex>, bench_gw_<hex>) too.
    const peerSchemas = [s.checks["schema"], g.checks["schema"]] as string[];
    expect(peerSchemas.every((name) => /^bench_(skl|gw)_[0-9a-f]{8}$/.test(name))).toBe(true);
    const left = await db.query(
      "SELECT schema_name FROM information_schema.schemata WHERE schema_name = ANY($1)",
      [peerSchemas],
    );
    expect(left.rows).toEqual([]);
    for (const pattern of [
      ...namespaces.flatMap((ns) => [`ovs:{${ns}}:*`, `ovs:${ns}:*`]),
      ...prefixes.map((p) => `${p}:*`),
    ]) {
      const [, keys] = await redis.scan("0", "MATCH", pattern, "COUNT", 100_000);
      expect(keys, pattern).toEqual([]);
    }
  } finally {
    await db.end();
    redis.disconnect();
  }
}, 150_000);

it("scrape-storm: a dashboard read alone and under parallel /metrics scrapers, with finite numbers and ratios", async () => {
  const r = await scrapeStorm(SMOKE.scrapeStorm);
  expect(r.alone.n).toBe(20);
  expect(r.underScrapes.n).toBe(20);
  for (const n of [r.alone.p99, r.underScrapes.p99, r.scrapesPerSec, r.ratios.p50, r.ratios.p99])
    expect(n, JSON.stringify(r)).toSatisfy(positive);
  expect(scrapeStormMarkdown(r)).toContain("| p99 (ms) |");
});

it("registration: a fleet registered over HTTP beside a raw Postgres registry, with finite rates and a ratio", async () => {
  const r = await registration(SMOKE.registration);
  for (const n of [r.overseer.perSec, r.rawInsert.perSec, r.ratio])
    expect(n, JSON.stringify(r)).toSatisfy(positive);
  expect(registrationMarkdown(r)).toContain("Overseer / raw");
});
