import { describe, expect, it } from "vitest";
import { benchConfig } from "../../bench/config.ts";
import { bullStalledWindowMs, DOC_BEGIN, DOC_END, spliceResults } from "../../bench/report.ts";
import { scaleMarkdown } from "../../bench/report-scale.ts";
import { parseRedisBenchmark } from "../../bench/scenarios/redis-benchmark.ts";
import { parseRedisBenchmarkCsv } from "../../bench/scenarios/redis-heartbeat-benchmark.ts";

describe("bench report helpers", () => {
  it("replaces only the generated block of the performance doc", () => {
    const doc = `# Performance\n\nintro\n\n${DOC_BEGIN}\nold table\n${DOC_END}\n\n## Method\n`;
    const out = spliceResults(doc, "new table");
    expect(out).toContain("intro");
    expect(out).toContain("## Method");
    expect(out).toContain("new table");
    expect(out).not.toContain("old table");
    expect(spliceResults(out, "newer")).toBe(spliceResults(doc, "newer"));
  });

  it("appends a generated block to a doc without one", () => {
    expect(spliceResults("# Performance\n", "t")).toBe(`# Performance\n\n${DOC_BEGIN}\n\nt\n\n${DOC_END}\n`);
  });

  it("parses redis-benchmark -q output, progress lines included", () => {
    const out =
      " \rSET: rps=0.0 (overall: 0.0) avg_msec=-nan (overall: -nan)\r" +
      "SET: 33333.34 requests per second, p50=0.567 msec\n" +
      "GET: 47619.05 requests per second, p50=0.535 msec\n\n";
    expect(parseRedisBenchmark(out)).toEqual({ SET: 33333.34, GET: 47619.05 });
  });

  it("parses redis-benchmark --csv output, a quoted command with commas included", () => {
    const out =
      '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"\n' +
      '"EVAL local s = redis.call(\'HGET\', KEYS[1], ARGV[1]) return 1 1 k","90909.09","0.489","0.296","0.463","0.679","0.967","1.199"\n';
    expect(parseRedisBenchmarkCsv(out)).toEqual([
      {
        test: "EVAL local s = redis.call('HGET', KEYS[1], ARGV[1]) return 1 1 k",
        values: [90909.09, 0.489, 0.296, 0.463, 0.679, 0.967, 1.199],
      },
    ]);
  });

  it("leaves the scale table out when none of its scenarios ran", () => {
    expect(scaleMarkdown({ fleet: null, wsFanout: null, pipelineRuns: null, failover: null })).toBe("");
  });

  it("BullMQ's stalled window: lock/2 .. lock + stalled interval", () => {
    expect(bullStalledWindowMs(30_000, 30_000)).toEqual([15_000, 60_000]);
    expect(bullStalledWindowMs(750, 250)).toEqual([375, 1_000]);
  });

  it("reads settings from the environment and rejects bad ones all at once", () => {
    const c = benchConfig({ BENCH_TASKS: "300", BENCH_REASSIGN_SAMPLES: "3", BENCH_FULL: "1" });
    expect(c.throughput.tasks).toBe(300);
    expect(c.reassignSamples).toBe(3);
    expect(c.full).toBe(true);
    expect(benchConfig({}).throughput.tasks).toBe(10_000);
    expect(benchConfig({}).fleet).toMatchObject({ agents: 10_000, wsClients: 1_000, durationMs: 30_000 });
    expect(benchConfig({}).failover).toMatchObject({ samples: 5, leaseMs: 2_000 });
    expect(benchConfig({}).pipelineRuns).toMatchObject({ runs: 1_000 });
    const skipped = benchConfig({
      BENCH_AGENTS_10K: "0",
      BENCH_WS_EVENTS: "0",
      BENCH_FAILOVER_SAMPLES: "0",
      BENCH_PIPELINE_RUNS: "0",
    });
    expect([skipped.fleet, skipped.wsFanout, skipped.failover, skipped.pipelineRuns]).toEqual([
      null,
      null,
      null,
      null,
    ]);
    expect(() => benchConfig({ BENCH_TASKS: "0", BENCH_AGENTS: "x" })).toThrow(
      /BENCH_TASKS[\s\S]*BENCH_AGENTS/,
    );
  });
});
