import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { METRICS } from "../../daemon/telemetry/metric-names.ts";
import { OverseerMetrics } from "../../daemon/telemetry/metrics.ts";

/**
 * docs/metrics.md documents every metric in METRICS with its labels, and names no overseer_ metric
 * that METRICS does not define (prom-client's default process metrics have their own section).
 */
const DOC = readFileSync(new URL("../../docs/metrics.md", import.meta.url), "utf8");
const DEFAULT_SECTION = "## Default process metrics";
const ZERO_SECTION = "## Series that exist from the start";

/** The document without the default process metrics section (up to the next `## ` heading). */
function withoutDefaultSection(markdown: string): string {
  const start = markdown.indexOf(DEFAULT_SECTION);
  if (start < 0) return markdown;
  const next = markdown.indexOf("\n## ", start + DEFAULT_SECTION.length);
  return markdown.slice(0, start) + (next < 0 ? "" : markdown.slice(next));
}

/** Table rows keyed by the metric name in their first cell. */
function tableRows(markdown: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of markdown.split("\n")) {
    const name = /^\|\s*`(overseer_[a-z0-9_]+)`\s*\|/.exec(line.trim())?.[1];
    if (name) rows.set(name, line);
  }
  return rows;
}

const specs = Object.values(METRICS) as ReadonlyArray<{ name: string; labels: readonly string[] }>;
const known = new Set(specs.map((m) => m.name));
const body = withoutDefaultSection(DOC);
const rows = tableRows(body);

describe("docs/metrics.md", () => {
  it("has a default process metrics section that the checks skip", () => {
    expect(DOC).toContain(DEFAULT_SECTION);
    expect(body).not.toContain("overseer_process_cpu_seconds_total");
  });

  it("documents every metric in METRICS in its table", () => {
    expect(specs.map((m) => m.name).filter((name) => !rows.has(name))).toEqual([]);
  });

  it("lists each metric's labels in its row", () => {
    const missing: string[] = [];
    for (const m of specs) {
      const row = rows.get(m.name) ?? "";
      for (const label of m.labels) if (!row.includes(`\`${label}\``)) missing.push(`${m.name}: ${label}`);
    }
    expect(missing).toEqual([]);
  });

  it("names no overseer_ metric outside METRICS (histogram series suffixes allowed)", () => {
    const unknown = new Set<string>();
    for (const match of body.matchAll(/\boverseer_[a-z0-9_]+/g)) {
      const name = match[0];
      const base = name.replace(/_(bucket|sum|count)$/, "");
      if (!known.has(name) && !known.has(base)) unknown.add(name);
    }
    expect([...unknown].sort()).toEqual([]);
  });

  it("names in its zero-series section every metric exported at 0 before its first event", async () => {
    const start = DOC.indexOf(ZERO_SECTION);
    expect(start).toBeGreaterThan(0);
    const section = DOC.slice(start, DOC.indexOf("\n## ", start + 1));
    const m = new OverseerMetrics();
    m.known.loops(["liveness"]);
    m.known.managed(["worker"]);
    m.known.learn({
      roles: ["r"],
      taskTypes: ["t"],
      templates: ["p"],
      steps: [{ template: "p", step: "s" }],
    });
    const zeroed = (await m.registry.getMetricsAsJSON())
      .filter((x) => x.name.startsWith("overseer_") && !x.name.startsWith("overseer_process_"))
      .filter((x) => !x.name.startsWith("overseer_nodejs_") && String(x.type) !== "histogram")
      .filter((x) => x.values.some((v) => Object.keys(v.labels).length > 0))
      .map((x) => x.name);
    expect(zeroed.length).toBeGreaterThan(20);
    expect(zeroed.filter((name) => !section.includes(`\`${name}\``))).toEqual([]);
  });

  it("lists no default metric promtool check metrics refuses (a gauge named _total)", () => {
    expect(DOC).not.toMatch(/overseer_nodejs_active_[a-z]+_total/);
  });
});
