import { Redis } from "ioredis";
import pg from "pg";
import { expect, it } from "vitest";
import type { BenchConfig } from "../../bench/config.ts";
import { resultsMarkdown } from "../../bench/report.ts";
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
  full: false,
  redisBenchmarkRequests: 2_000,
};

const positive = (n: unknown) => typeof n === "number" && Number.isFinite(n) && n > 0;

it("runs both scenarios and their baselines at small sizes, with finite numbers and ratios, and cleans up", async () => {
  const r = await runSuite(SMOKE);
  expect(r.errors).toEqual([]);

  const o = r.throughput.overseer!;
  const b = r.throughput.bullmq!;
  for (const side of [o, b]) {
    for (const n of [
      side.submit.perSec,
      side.drain.perSec,
      side.endToEnd.perSec,
      side.endToEnd.submitPerSec,
    ]) {
      expect(n, JSON.stringify(side)).toSatisfy(positive);
    }
    expect(side.submit.latencyMs.n).toBe(300);
  }
  expect(b.addBulk.perSec).toSatisfy(positive);
  expect(o.checks).toMatchObject({ tasksByState: { completed: 600 }, attempts: 600, completions: 600 });
  expect(b.checks).toMatchObject({ jobCounts: { completed: 600, failed: 0 } });
  for (const k of ["submit", "drain", "endToEnd"] as const)
    expect(r.throughput.ratios[k]).toSatisfy(positive);

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
  expect(r.bullmqDefaults).toMatchObject({ measured: false, expectedRangeMs: [15_000, 60_000] });

  if (r.redisBenchmark?.installed) {
    for (const k of ["SET", "GET", "LPUSH", "LPOP"])
      expect(r.redisBenchmark.opsPerSec[k]).toSatisfy(positive);
  }

  const table = resultsMarkdown(r);
  expect(table).toContain("End to end");
  expect(table).toMatch(/\d\.\d\d×/);

  // Every namespace and key prefix is gone.
  const namespaces = [o.checks["namespace"], run.overseer!.scope] as string[];
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
}, 60_000);
