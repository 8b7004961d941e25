import type * as cog from "@grafana/grafana-foundation-sdk/cog";
import * as common from "@grafana/grafana-foundation-sdk/common";
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import * as prometheus from "@grafana/grafana-foundation-sdk/prometheus";
import * as stat from "@grafana/grafana-foundation-sdk/stat";
import * as table from "@grafana/grafana-foundation-sdk/table";
import * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";
import { DASHBOARD_UIDS, DATASOURCE, PROMETHEUS_UID, REFRESH, TAG, TIME } from "./config.ts";
import { type ConsoleLink, consoleUrlVariable } from "./console-links.ts";
import { variableQueries } from "./queries.ts";

/** One PromQL target: `legend` is Grafana's legend format (`{{label}}`). */
export interface Target {
  expr: string;
  legend?: string;
  /**
   * Data links on this target's series to the operator console (src/console-links.ts). Each may
   * name only labels the expression's result carries (test/grafana/console-links.test.ts).
   */
  links?: ConsoleLink[];
}

/** Colour steps: the first step's value is the base (null), then `[value, colour]` pairs. */
export type Steps = Array<[number | null, string]>;

/** A panel as data: kind, text, queries and a few display options. */
export interface PanelSpec {
  kind: "timeseries" | "stat" | "table";
  title: string;
  description: string;
  targets: Target[];
  unit?: string;
  /** Grid width out of 24 (default 8) and height (default 8 for graphs, 4 for stats). */
  w?: number;
  h?: number;
  steps?: Steps;
  min?: number;
  max?: number;
  stacked?: boolean;
  /**
   * What the panel shows when its queries return nothing. Every panel has one: when not given,
   * noValueOf() picks it from the queries (a count or rate reads "0", a quantile "no observations
   * in range", a ratio "nothing ended yet"). Give it where absence means something else (no live
   * agent, no budget configured, no replica scraped).
   */
  noValue?: string;
  /** Stat value → text (e.g. 1 → "up"). */
  valueText?: Record<string, { text: string; color: string }>;
}

export interface RowSpec {
  title: string;
  panels: PanelSpec[];
}

export type VariableName = "role" | "type" | "template" | "model";

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  /** Label variables offered besides datasource and job; each is `.*` when "All". */
  variables: VariableName[];
  rows: RowSpec[];
}

const GOOD_BAD: Steps = [
  [null, "green"],
  [1, "red"],
];

/** Red below `low`, green from it: for success rates and counts that should be high. */
export const atLeast = (low: number): Steps => [
  [null, "red"],
  [low, "green"],
];

/** Green below `warn`, amber from it, red from `crit`. */
export const atMost = (warn: number, crit?: number): Steps =>
  crit === undefined
    ? [
        [null, "green"],
        [warn, "red"],
      ]
    : [
        [null, "green"],
        [warn, "orange"],
        [crit, "red"],
      ];

export const nonZeroIsBad = GOOD_BAD;

function thresholds(steps: Steps): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps(steps.map(([value, color]) => ({ value, color })));
}

/** The refId of a panel's `index`th target: A, B, C… */
const refIdOf = (index: number): string => String.fromCharCode(65 + index);

function targets(spec: PanelSpec, instant: boolean): prometheus.DataqueryBuilder[] {
  return spec.targets.map((t, i) => {
    const b = new prometheus.DataqueryBuilder()
      .expr(t.expr)
      .refId(refIdOf(i))
      .legendFormat(t.legend ?? "__auto")
      .datasource(DATASOURCE);
    if (instant) b.instant().format(prometheus.PromQueryFormat.Table);
    else b.range();
    return b;
  });
}

/** Text for an empty panel, from what its queries compute when the spec does not say. */
export function noValueOf(spec: PanelSpec): string {
  if (spec.noValue) return spec.noValue;
  const exprs = spec.targets.map((t) => t.expr);
  // A quantile of no observations is not 0: there is nothing to rank.
  if (exprs.every((e) => e.includes("histogram_quantile("))) return "no observations in range";
  // A ratio without a denominator has no value; 0 % would read as "everything failed".
  if (spec.unit === "percentunit" && exprs.some((e) => e.includes(" / "))) return "nothing ended yet";
  // Counts and rates of counters exported at 0 from the start, and gauges of counts: absence is 0.
  return "0";
}

/** Any panel builder: each takes field overrides by query. */
interface OverridableBuilder {
  overrideByQuery(refId: string, properties: dashboard.DynamicConfigValue[]): unknown;
}

/**
 * A target's console links as an override on the fields its query returns (by refId), so a link
 * never shows on the series of another target of the panel that lacks its label.
 */
function withConsoleLinks<B extends OverridableBuilder>(p: B, spec: PanelSpec): B {
  spec.targets.forEach((t, i) => {
    if (t.links?.length) p.overrideByQuery(refIdOf(i), [{ id: "links", value: t.links }]);
  });
  return p;
}

/** Builds one panel of `spec` with a stable id. */
export function buildPanel(spec: PanelSpec, id: number): cog.Builder<dashboard.Panel> {
  return withConsoleLinks(panelWithoutLinks(spec, id), spec);
}

function panelWithoutLinks(spec: PanelSpec, id: number) {
  const h = spec.h ?? (spec.kind === "stat" ? 4 : 8);
  const w = spec.w ?? 8;
  if (spec.kind === "stat") {
    const p = new stat.PanelBuilder()
      .id(id)
      .title(spec.title)
      .description(spec.description)
      .datasource(DATASOURCE)
      .targets(targets(spec, false))
      .span(w)
      .height(h)
      .graphMode(common.BigValueGraphMode.Area)
      .colorMode(common.BigValueColorMode.Value)
      .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(["lastNotNull"]).values(false))
      .thresholds(thresholds(spec.steps ?? [[null, "green"]]));
    if (spec.unit) p.unit(spec.unit);
    p.noValue(noValueOf(spec));
    if (spec.valueText) {
      p.mappings([{ type: dashboard.MappingType.ValueToText, options: mappingOptions(spec.valueText) }]);
    }
    return p;
  }
  if (spec.kind === "table") {
    const p = new table.PanelBuilder()
      .id(id)
      .title(spec.title)
      .description(spec.description)
      .datasource(DATASOURCE)
      .targets(targets(spec, true))
      .span(w)
      .height(h)
      .withTransformation({ id: "organize", options: { excludeByName: { Time: true } } })
      .noValue(noValueOf(spec));
    return p;
  }
  const p = new timeseries.PanelBuilder()
    .id(id)
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .targets(targets(spec, false))
    .span(w)
    .height(h)
    .lineWidth(1)
    .noValue(noValueOf(spec))
    .fillOpacity(spec.stacked ? 30 : 10)
    .showPoints(common.VisibilityMode.Never)
    .legend(
      new common.VizLegendOptionsBuilder()
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom)
        .showLegend(true),
    )
    .tooltip(
      new common.VizTooltipOptionsBuilder()
        .mode(common.TooltipDisplayMode.Multi)
        .sort(common.SortOrder.Descending),
    );
  if (spec.unit) p.unit(spec.unit);
  if (spec.min !== undefined) p.min(spec.min);
  if (spec.max !== undefined) p.max(spec.max);
  if (spec.steps) p.thresholds(thresholds(spec.steps));
  if (spec.stacked) p.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  return p;
}

function mappingOptions(
  valueText: Record<string, { text: string; color: string }>,
): Record<string, dashboard.ValueMappingResult> {
  return Object.fromEntries(
    Object.entries(valueText).map(([value, r], index) => [value, { text: r.text, color: r.color, index }]),
  );
}

function datasourceVariable(): dashboard.DatasourceVariableBuilder {
  return new dashboard.DatasourceVariableBuilder("datasource")
    .label("Data source")
    .type("prometheus")
    .current({ text: "Prometheus", value: PROMETHEUS_UID });
}

/** A multi-value label variable read from the series; "All" is the regex `.*`. */
function labelVariable(name: string, label: string, query: string, allValue: string | null = ".*") {
  const v = new dashboard.QueryVariableBuilder(name)
    .label(label)
    .query(query)
    .datasource(DATASOURCE)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .current({ text: "All", value: "$__all" });
  if (allValue !== null) v.allValue(allValue);
  return v;
}

const VARIABLE_LABELS: Record<VariableName, string> = {
  role: "Agent role",
  type: "Task type",
  template: "Pipeline template",
  model: "Model",
};

/** The dashboard of `spec`: variables, a link bar to the other Overseer dashboards, rows and panels. */
export function buildDashboard(spec: DashboardSpec): dashboard.Dashboard {
  const b = new dashboard.DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags([TAG])
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .time(TIME)
    .refresh(REFRESH)
    .timezone("browser")
    .link(
      new dashboard.DashboardLinkBuilder("Overseer")
        .type(dashboard.DashboardLinkType.Dashboards)
        .tags([TAG])
        .asDropdown(true)
        .includeVars(true)
        .keepTime(true),
    )
    .withVariable(datasourceVariable())
    // Without a custom "All" value Grafana expands it to the known jobs, so `up` stays Overseer's.
    .withVariable(labelVariable("job", "Job", variableQueries.job, null));
  for (const name of spec.variables) {
    b.withVariable(labelVariable(name, VARIABLE_LABELS[name], variableQueries[name]));
  }
  b.withVariable(consoleUrlVariable());
  let id = 1;
  for (const row of spec.rows) {
    b.withRow(new dashboard.RowBuilder(row.title).id(id++));
    for (const panel of row.panels) b.withPanel(buildPanel(panel, id++));
  }
  return b.build();
}

/** Every dashboard uid, for links from alert rules and runbooks. */
export const ALL_UIDS = Object.values(DASHBOARD_UIDS);
