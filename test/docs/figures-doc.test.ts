import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FIGURES, type Figure } from "../../contract/figures.ts";
import { METRICS } from "../../daemon/telemetry/metric-names.ts";
import { FIGURES_DOC, METRICS_DOC, renderFiguresDoc, withMetricsBlock } from "../../tools/figures-doc.ts";

/** docs/figures.md and the figures block of docs/metrics.md are what `npm run figures:doc` writes. */
describe("docs/figures.md", () => {
  it("is generated from contract/figures.ts (run npm run figures:doc)", () => {
    expect(readFileSync(FIGURES_DOC, "utf8")).toBe(renderFiguresDoc());
  });

  it("docs/metrics.md lists the figure gauges as the registry names them", () => {
    const doc = readFileSync(METRICS_DOC, "utf8");
    expect(doc).toBe(withMetricsBlock(doc));
  });

  it("every figure gauge is in METRICS, and every figure is shown somewhere besides its definition", () => {
    const names = new Set(Object.values(METRICS).map((m) => m.name));
    const all: Figure[] = Object.values(FIGURES);
    for (const f of all) {
      if (f.metric) expect(names.has(f.metric.name), f.id).toBe(true);
      expect(f.api.length, f.id).toBeGreaterThan(0);
      expect(f.id).toMatch(/^[a-z][a-z_]+$/);
    }
  });
});
