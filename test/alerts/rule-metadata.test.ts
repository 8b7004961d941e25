import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { OverseerMetrics } from "../../daemon/telemetry/metrics.ts";
import {
  alertRules,
  DASHBOARD_UIDS,
  GRAFANA_BASE,
  promFiles,
  RUNBOOK_BASE,
  ruleFiles,
} from "./rule-files.ts";

/**
 * Every shipped alert carries what on-call needs (severity, summary, description, a runbook
 * section that exists, a dashboard, a `for`), queries only metrics the daemon exports, and has
 * promtool cases on both sides of its `for` boundary.
 */
const RUNBOOKS = readFileSync(new URL("../../docs/runbooks.md", import.meta.url), "utf8");
const anchors = new Set([...RUNBOOKS.matchAll(/<a id="([^"]+)"><\/a>/g)].map((m) => m[1]));
const alerts = alertRules();

/** Names the daemon's registry exports (METRICS and prom-client defaults), with histogram series. */
function exportedNames(): Set<string> {
  const names = new Set<string>(["up"]);
  for (const m of new OverseerMetrics().registry.getMetricsAsArray()) {
    names.add(m.name);
    if (String(m.type) === "histogram")
      for (const s of ["_bucket", "_sum", "_count"]) names.add(`${m.name}${s}`);
  }
  return names;
}

describe("prometheus/alerts", () => {
  it("ships the alerts on-call relies on", () => {
    const names = alerts.map((a) => a.alert);
    expect(new Set(names).size).toBe(names.length);
    for (const required of [
      "OverseerDown",
      "OverseerNoHealthyAgents",
      "OverseerAgentHeartbeatStale",
      "OverseerCoordinationSuccessLow",
      "OverseerTaskFailureRateHigh",
      "OverseerTaskBacklogStale",
      "OverseerDeadLetterGrowing",
      "OverseerPipelineRunStuck",
      "OverseerLlmBudgetBurningFast",
      "OverseerLlmErrorRateHigh",
      "OverseerEventLoopLagHigh",
    ]) {
      expect(names).toContain(required);
    }
  });

  it.each(alerts.map((a) => [a.alert, a] as const))(
    "%s has severity, for, summary, description and links",
    (_, a) => {
      expect(["critical", "warning"]).toContain(a.labels?.severity);
      expect(a.for).toMatch(/^\d+[smh]$/);
      expect(a.annotations?.summary?.length).toBeGreaterThan(10);
      expect(a.annotations?.description?.length).toBeGreaterThan(30);
      const runbook = a.annotations?.runbook_url ?? "";
      expect(runbook.startsWith(RUNBOOK_BASE), runbook).toBe(true);
      expect(
        anchors.has(runbook.slice(RUNBOOK_BASE.length)),
        `anchor of ${runbook} in docs/runbooks.md`,
      ).toBe(true);
      const dashboard = a.annotations?.dashboard_url ?? "";
      expect(dashboard.startsWith(GRAFANA_BASE), dashboard).toBe(true);
      expect(DASHBOARD_UIDS).toContain(dashboard.slice(GRAFANA_BASE.length));
    },
  );

  it("queries only metrics the daemon exports", () => {
    const known = exportedNames();
    const unknown = new Set<string>();
    for (const f of ruleFiles()) {
      for (const r of f.groups.flatMap((g) => g.rules)) {
        const expr = r.expr.replace(/#.*$/gm, "");
        for (const m of expr.matchAll(/\b(overseer_[a-z0-9_]+|up)\b/g)) {
          if (!known.has(m[1] as string)) unknown.add(`${r.alert ?? r.record}: ${m[1]}`);
        }
      }
    }
    expect([...unknown]).toEqual([]);
  });

  it("has promtool cases just before (nothing) and at (firing) each alert's boundary", () => {
    const firing = new Set<string>();
    const quiet = new Set<string>();
    for (const file of promFiles("tests", ".yml")) {
      const doc = parse(readFileSync(file, "utf8")) as {
        tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
      };
      for (const t of doc.tests.flatMap((x) => x.alert_rule_test ?? [])) {
        (t.exp_alerts.length > 0 ? firing : quiet).add(t.alertname);
      }
    }
    const names = alerts.map((a) => a.alert as string);
    expect(names.filter((n) => !firing.has(n))).toEqual([]);
    expect(names.filter((n) => !quiet.has(n))).toEqual([]);
  });
});
