import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { FIGURE_WINDOWS, FIGURES, type Figure } from "../contract/figures.ts";

/**
 * Writes docs/figures.md from the figures registry (contract/figures.ts), and the figure gauges'
 * rows of docs/metrics.md between its markers: `npm run figures:doc`. test/docs/figures-doc.test.ts
 * fails when either file differs from what this renders.
 */

const ROOT = fileURLToPath(new URL("../", import.meta.url));
export const FIGURES_DOC = `${ROOT}docs/figures.md`;
export const METRICS_DOC = `${ROOT}docs/metrics.md`;
export const BEGIN = "<!-- figures:begin (npm run figures:doc writes this table) -->";
export const END = "<!-- figures:end -->";

const UNITS: Record<Figure["unit"], string> = {
  ratio: "ratio 0..1",
  count: "count",
  usd: "USD",
  tokens: "tokens",
  ms: "milliseconds (the metric: seconds)",
};

const cell = (s: string) => s.replaceAll("|", "\\|");

/** A Markdown table with its columns padded, as Biome formats it (so `biome check .` leaves it be). */
function mdTable(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, 3, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
}

export function renderFiguresDoc(): string {
  const all: Figure[] = Object.values(FIGURES);
  const out = [
    "# Figures",
    "",
    "<!-- Generated from contract/figures.ts by `npm run figures:doc`; edit the registry, not this page. -->",
    "",
    "Every number a user reads as a success rate, a count, a cost or a duration is a **figure** of one",
    "registry, `contract/figures.ts`. It gives each figure its id, what counts in its numerator and",
    "its denominator, what is left out and its window; the API's stores build their `WHERE` clauses",
    "from its state sets, the figure gauges export the same values to Prometheus, the dashboards take",
    "their queries and titles from it, and the CLI its labels. A schema field that carries a figure",
    "says so in its description (`figure: task_success_rate`), so the OpenAPI document names it too.",
    "",
    "Rules every figure keeps:",
    "",
    "- A ratio with no denominator is `null` (and has no Prometheus series), never 0 or 1; 0 is a value.",
    "- **Cancelled is neither a success nor a failure**: cancelled tasks and runs, and released or",
    "  cancelled attempts, are left out of success rates (an operator's decision, nobody's outcome).",
    "- Success rates differ by **unit**: per task (a task retried twice and then completed is one",
    "  success), per run, and per attempt (the same task is two failures and one success). The",
    "  per-attempt rate is the lower one whenever anything is retried; neither is wrong.",
    "",
    `The figure gauges are read from Postgres when \`/metrics\` is scraped (at most once every 5 seconds per replica), over the window in their \`window\` label (${Object.keys(FIGURE_WINDOWS).join(", ")}; the KPI figures 7d, as \`GET /api/analytics/kpis?range=7days\`). Every replica exports the same values: aggregate with \`max\`, never \`sum\`.`,
    "",
    "## The figures",
    "",
    ...mdTable(
      ["Figure", "Name", "Unit", "Counts", "Over", "Excludes", "Window", "Null when"],
      all.map((f) => [
        `\`${f.id}\``,
        f.name,
        UNITS[f.unit],
        cell(f.counts),
        cell(f.over ?? "—"),
        cell(f.excluded ?? "—"),
        cell(f.window),
        cell(f.whenNull ?? "never"),
      ]),
    ),
    "",
    "## Where each figure is shown",
    "",
    ...mdTable(
      ["Figure", "API", "Prometheus", "WebSocket snapshot", "CLI"],
      all.map((f) => [
        `\`${f.id}\``,
        f.api.map((a) => `\`${cell(a)}\``).join("<br>"),
        f.promql ? `\`${cell(f.promql)}\`` : "—",
        cell(f.ws ?? "—"),
        f.cli ? `\`${f.cli}\`` : "—",
      ]),
    ),
    "",
    "`test/figures/consistency.test.ts` seeds a known history and checks that every surface above",
    "reports the value computed by hand, for every figure.",
    "",
  ];
  return out.join("\n");
}

/** The figure gauges' rows for docs/metrics.md's tables (metric-names.ts takes them from the registry). */
export function renderMetricsBlock(): string {
  const rows = Object.values(FIGURES as Record<string, Figure>)
    .filter((f) => f.metric)
    .map((f) => [
      `\`${f.metric?.name}\``,
      "gauge",
      "`window`",
      `Figure \`${f.id}\` ([figures.md](figures.md)): ${cell(f.name)}${f.unit === "ms" ? " in seconds" : ""}; windows ${f.metric?.windows.join(", ")}.${f.whenNull ? " No series while it is null." : ""}`,
    ]);
  return [BEGIN, "", ...mdTable(["Metric", "Type", "Labels", "Meaning"], rows), "", END].join("\n");
}

/** docs/metrics.md with its figures block replaced (or appended under its own heading). */
export function withMetricsBlock(doc: string): string {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start >= 0 && end > start)
    return doc.slice(0, start) + renderMetricsBlock() + doc.slice(end + END.length);
  throw new Error(`docs/metrics.md has no ${BEGIN} … ${END} block`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(FIGURES_DOC, renderFiguresDoc());
  writeFileSync(METRICS_DOC, withMetricsBlock(readFileSync(METRICS_DOC, "utf8")));
  console.log("wrote docs/figures.md and the figures block of docs/metrics.md");
}
