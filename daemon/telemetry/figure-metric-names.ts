import { FIGURES, type FigureId } from "../../contract/figures.ts";

/** The figures a gauge of figure-gauges.ts carries (the others are carried by existing metrics). */
export type GaugedFigure = {
  [K in FigureId]: (typeof FIGURES)[K] extends { metric: unknown } ? K : never;
}[FigureId];

type FigureMetricSpecs = {
  [K in GaugedFigure as `figure_${K}`]: {
    name: (typeof FIGURES)[K]["metric"]["name"];
    help: string;
    labels: readonly ["window"];
  };
};

/**
 * The figure gauges' entries of METRICS (metric-names.ts), taken from the figures registry so a
 * figure's metric is named and described in one place (contract/figures.ts).
 */
export const FIGURE_METRICS = Object.fromEntries(
  Object.values(FIGURES).flatMap((f) =>
    "metric" in f
      ? [[`figure_${f.id}`, { name: f.metric.name, help: f.metric.help, labels: ["window"] as const }]]
      : [],
  ),
) as FigureMetricSpecs;

export const GAUGED_FIGURES = Object.values(FIGURES)
  .filter((f) => "metric" in f)
  .map((f) => f.id as GaugedFigure);
