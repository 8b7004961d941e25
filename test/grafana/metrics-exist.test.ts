import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { METRICS } from "../../daemon/telemetry/metric-names.ts";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import {
  builtDashboards,
  metricNames,
  panelQueries,
  variableMetricNames,
  variableQueries,
} from "./dashboard-queries.ts";

/** Series Prometheus itself makes: alert state and scrape health. */
const PROMETHEUS_SERIES = ["ALERTS", "ALERTS_FOR_STATE", "up"];

/** Every series name a metric family of `type` produces in the text format. */
function seriesOf(name: string, type: string): string[] {
  if (type === "histogram") return [`${name}_bucket`, `${name}_sum`, `${name}_count`];
  if (type === "summary") return [name, `${name}_sum`, `${name}_count`];
  return [name];
}

describe("PromQL metric-name extraction", () => {
  it("finds selectors used bare, with matchers or with a range, and nothing else", () => {
    const cases: Array<[string, string[]]> = [
      ["up", ["up"]],
      ['sum by (le, type) (rate(a_bucket{job=~"$job",le="+Inf"}[$__rate_interval]))', ["a_bucket"]],
      ["histogram_quantile(0.99, sum without (instance) (rate(b_bucket[5m])))", ["b_bucket"]],
      ["sum(x) by (role) / on (role) group_left (team) y", ["x", "y"]],
      ["a / ignoring (state) b > bool 0.5 and c unless d or e", ["a", "b", "c", "d", "e"]],
      ['label_replace(m{x="a b"}, "dst", "$1", "src", "(.*)")', ["m"]],
      ["rate(c_total[5m] offset 1h) * 3600 + max_over_time(g[1h:1m])", ["c_total", "g"]],
      ['{__name__="named_metric", job="j"}', ["named_metric"]],
      ["vector(0) + time() + Inf + NaN + 1e3", []],
      ['ALERTS{alertstate="firing"}', ["ALERTS"]],
    ];
    for (const [expr, names] of cases) expect(metricNames(expr).sort(), expr).toEqual(names.sort());
    expect(variableMetricNames('label_values(overseer_agents{job=~"$job"}, role)')).toEqual([
      "overseer_agents",
    ]);
  });
});

describe("dashboards query only metrics the daemon exports", () => {
  let d: TestDaemon;
  let exported: Map<string, string>;

  beforeAll(async () => {
    d = await startTestDaemon();
    // The default process metrics are read from a real daemon, not listed by hand.
    const text = (await d.api("GET", "/metrics", { token: null })).text;
    exported = new Map(
      [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] as string, m[2] as string]),
    );
  });
  afterAll(async () => {
    await d?.close();
  });

  it("every metric-names.ts metric is on /metrics (so the list below is the daemon's own)", () => {
    const missing = Object.values(METRICS)
      .map((m) => m.name)
      .filter((n) => !exported.has(n));
    expect(missing).toEqual([]);
  });

  it("every panel's and variable's PromQL names only exported series", () => {
    const known = new Set<string>(PROMETHEUS_SERIES);
    for (const [name, type] of exported) for (const s of seriesOf(name, type)) known.add(s);
    const unknown: string[] = [];
    let checked = 0;
    for (const q of panelQueries()) {
      const names = metricNames(q.expr);
      if (names.length === 0)
        unknown.push(`${q.dashboard} #${q.panelId} "${q.panel}" ${q.refId}: no metric in ${q.expr}`);
      for (const n of names) {
        checked++;
        if (!known.has(n)) unknown.push(`${q.dashboard} #${q.panelId} "${q.panel}" ${q.refId}: ${n}`);
      }
    }
    for (const dash of builtDashboards()) {
      for (const v of variableQueries(dash)) {
        for (const n of variableMetricNames(v.query)) {
          checked++;
          if (!known.has(n)) unknown.push(`${dash.uid} variable ${v.name}: ${n}`);
        }
      }
    }
    expect(unknown).toEqual([]);
    expect(checked).toBeGreaterThan(50);
  });
});
