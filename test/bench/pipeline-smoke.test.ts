import { Redis } from "ioredis";
import pg from "pg";
import { expect, it } from "vitest";
import { type EtaParams, etaAccuracy, etaMarkdown } from "../../bench/scenarios/eta-accuracy.ts";
import {
  type PipelineRunsParams,
  pipelineRuns,
  pipelineRunsMarkdown,
} from "../../bench/scenarios/pipeline-runs.ts";
import { DATABASE_URL, REDIS_URL } from "../helpers/test-env.ts";

// `npm run bench -- pipelines` at toy sizes: both pipeline scenarios and their baselines run, yield
// finite numbers and ratios, and leave no namespace, key prefix or schema behind. Behaviour only: no
// assertion on speed or accuracy (the real figures come from the bench, on a quiet machine).
const RUNS: PipelineRunsParams = {
  runs: 20,
  clients: 10,
  agentConcurrency: 8,
  workMs: [5, 20],
  warmup: 0,
  timeoutMs: 30_000,
  probeCalls: 5,
};
const ETA: EtaParams = { historyRuns: 3, runs: 3, stepMs: [60, 120, 40], jitter: 0.1, runTimeoutMs: 10_000 };

const positive = (n: unknown) => typeof n === "number" && Number.isFinite(n) && n > 0;
const finite = (n: unknown) => typeof n === "number" && Number.isFinite(n);

async function leftovers(namespaces: string[], schemas: string[], prefixes: string[]) {
  const db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  const redis = new Redis(REDIS_URL);
  try {
    const found = await db.query<{ schema_name: string }>(
      "SELECT schema_name FROM information_schema.schemata WHERE schema_name = ANY($1)",
      [[...namespaces.map((ns) => `overseer_${ns}`), ...schemas]],
    );
    const keys: string[] = [];
    for (const pattern of [
      ...namespaces.flatMap((ns) => [`ovs:{${ns}}:*`, `ovs:${ns}:*`]),
      ...prefixes.map((p) => `${p}:*`),
    ]) {
      let cursor = "0";
      do {
        const [next, batch] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 10_000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== "0");
    }
    return { schemas: found.rows.map((r) => r.schema_name), keys };
  } finally {
    await db.end();
    redis.disconnect();
  }
}

it("runs the pipeline scenarios at small sizes, with finite numbers and ratios, and cleans up", async () => {
  const r = await pipelineRuns(RUNS);
  const o = r.overseer;
  for (const s of [o.execute, r.bullmq.add, r.postgres.insert]) {
    expect(s.latencyMs.n).toBe(20);
    for (const n of [s.perSec, s.latencyMs.p50, s.latencyMs.p95, s.latencyMs.p99])
      expect(n).toSatisfy(positive);
    expect(s.latencyMs.p99).toBeGreaterThanOrEqual(s.latencyMs.p50);
  }
  for (const q of [r.ratios.vsBullmq, r.ratios.vsPostgres])
    for (const n of [q.p50, q.p95, q.p99]) expect(n).toSatisfy(positive);
  expect(o.completion.runsPerSec).toSatisfy(positive);
  expect(o.runDurationMs.n).toBe(20);
  expect(o.runDurationMs.p50).toSatisfy(positive);
  expect(o.inFlightAtLastAccept).toSatisfy(finite);
  // 3 agent steps per run (the 20 measured and the 5 probe runs), each one task completed on its
  // first attempt.
  expect(o.checks).toMatchObject({ runs: 20, tasksByState: { completed: 75 }, taskAttempts: 75 });
  expect(o.loadedProbe.calls).toBe(5);
  expect(o.loadedProbe.execute.p50).toSatisfy(positive);
  expect(o.loadedProbe.insert.p50).toSatisfy(positive);
  expect(pipelineRunsMarkdown(r)).toMatch(/\d\.\d\d×/);

  const e = await etaAccuracy(ETA);
  expect(e.checks).toMatchObject({ measuredRuns: 6, expectedSamples: 36, unanswered: 0 });
  expect(e.samples).toHaveLength(36);
  for (const method of ["history", "rate"] as const) {
    const s = e.byMethod[method];
    expect(s.samples, method).toBeGreaterThan(0);
    for (const n of [s.maeMs, s.maePct, s.biasMs, s.p90AbsMs]) expect(n, method).toSatisfy(finite);
  }
  // The history batch never falls back; the fresh templates never have history.
  expect(e.samples.filter((s) => s.batch === "history").every((s) => s.method === "history")).toBe(true);
  expect(e.samples.filter((s) => s.batch === "rate").every((s) => s.method !== "history")).toBe(true);
  expect(e.runMs.rate).toSatisfy(positive);
  expect(e.runMs.history).toSatisfy(positive);
  expect(etaMarkdown(e)).toContain("`history`");

  expect(await leftovers([o.namespace, e.namespace], [r.postgres.schema], [r.bullmq.prefix])).toEqual({
    schemas: [],
    keys: [],
  });
}, 60_000);
