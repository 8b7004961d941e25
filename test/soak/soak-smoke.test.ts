import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runSoak, soakConfig } from "../../bench/soak/soak.ts";
import { summarizeSeries } from "../../bench/soak/summary.ts";

/**
 * The soak (`npm run soak`, docs/soak.md) in about 50 s: two replicas, a churning fleet, steady load,
 * 5 s retention. Checks that samples are written, that retention deleted rows while the load went
 * on, and that the summary judges every series. The growth verdicts themselves need the long run.
 */
describe("soak smoke", () => {
  it("samples, retains and summarizes a short soak", { timeout: 240_000 }, async () => {
    const out = join(tmpdir(), `soak-smoke-${process.pid}.jsonl`);
    const config = {
      ...soakConfig({}),
      minutes: 0.75,
      sampleEveryS: 5,
      retention: "5s",
      retentionInterval: "1s",
      churnEveryS: 10,
      tasksPerS: 10,
      runsPerMin: 12,
      out,
    };
    try {
      const result = await runSoak(config, () => {});
      // 45 s / 5 s = 9 samples on the grid.
      expect(result.samples).toHaveLength(9);
      const lines = readFileSync(out, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => l.type)).toEqual(["config", ...Array(9).fill("sample"), "summary"]);

      const first = result.samples[0];
      const last = result.samples.at(-1);
      if (!first || !last) throw new Error("no samples");
      for (const r of ["replica0", "replica1"]) {
        expect(last.gauges.daemons[r]?.rssMiB).toBeGreaterThan(0);
        expect(last.gauges.daemons[r]?.eventLoopLagP99Ms).toBeGreaterThan(0);
      }
      expect(last.gauges.redis.namespaceKeys).toBeGreaterThan(0);
      expect(last.gauges.pg.tables["tasks"]).toBeDefined();

      // The load ran and the fleet churned.
      expect(result.totals.submitErrors).toBe(0);
      expect(result.totals.tasksSubmitted).toBeGreaterThan(300);
      expect(result.totals.runsSubmitted).toBeGreaterThan(5);
      expect(result.totals.agentsReplaced).toBeGreaterThanOrEqual(3);
      expect(result.totals.fleetFailures).toBe(0);
      // Retention deleted rows, so the tasks table holds far fewer rows than were submitted.
      expect(result.totals.retentionDeletedRows).toBeGreaterThan(0);
      const tasksRows = last.gauges.pg.tables["tasks"]?.rows ?? 0;
      expect(tasksRows).toBeLessThan(result.totals.tasksSubmitted / 2);
      // Ended agents deleted by retention leave the Redis state mirror too: it holds fewer fields
      // than the 9 first agents plus 3 per replacement that registered.
      expect(last.gauges.pg.tables["agents"]?.rows ?? 0).toBeLessThan(9 + 3 * result.totals.agentsReplaced);
      expect(last.gauges.redis.agentMirrorFields).toBeLessThan(9 + 3 * result.totals.agentsReplaced);

      // Every series is judged, and the table names each.
      expect(result.summary.length).toBeGreaterThan(10);
      for (const s of result.summary) expect(["bounded", "grows", "too short"]).toContain(s.verdict);
      expect(result.table).toContain("daemons.replica0.rssMiB");
      expect(result.table).toContain("pg.tables.tasks.rows");
    } finally {
      rmSync(out, { force: true });
    }
  });

  it("calls a steady ramp growth, and noise around a level or a plateau bounded", () => {
    const pts = (f: (t: number) => number) =>
      Array.from({ length: 40 }, (_, i) => ({ t: i * 90, v: f(i * 90) }));
    expect(
      summarizeSeries(
        "ramp",
        pts((t) => 100 + t / 10),
        3600,
        0.1,
      ).verdict,
    ).toBe("grows");
    expect(
      summarizeSeries(
        "flat",
        pts((t) => 100 + ((t / 90) % 2 ? 5 : -5)),
        3600,
        0.1,
      ).verdict,
    ).toBe("bounded");
    // Filling up in the first quarter, then a plateau (what retention should produce): bounded.
    expect(
      summarizeSeries(
        "plateau",
        pts((t) => Math.min(t, 600) / 6),
        3600,
        0.1,
      ).verdict,
    ).toBe("bounded");
    expect(summarizeSeries("short", pts((t) => t).slice(0, 5), 3600, 0.1).verdict).toBe("too short");
  });
});
