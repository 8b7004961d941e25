import { Gauge, type Registry } from "prom-client";
import { FIGURE_WINDOWS, FIGURES, type Figure, type FigureWindow } from "../../contract/figures.ts";
import type { Kpis } from "../../contract/schemas/analytics.ts";
import { kpisOf } from "../analytics/kpi-reads.ts";
import { successRate } from "../coordination/success-rate.ts";
import { attemptStats } from "../store/attempt-stats-store.ts";
import { kpiReadsStore } from "../store/kpi-reads-store.ts";
import type { Queryable } from "../store/pg-pool.ts";
import { FIGURE_METRICS, GAUGED_FIGURES, type GaugedFigure } from "./figure-metric-names.ts";
import { sharedResult } from "./scrape-throttle.ts";

/**
 * The figures of contract/figures.ts that have a gauge, read from Postgres at scrape time (at most
 * once per `minIntervalMs`, 5 s by default) with the stores and arithmetic the API uses, over the registry's
 * windows: `/metrics` and `/api/analytics/kpis?range=7days` give the same number. A null figure
 * (no denominator) has no series rather than a made-up 0; when Postgres cannot be read the gauges
 * are emptied (overseer_dependency_up says why).
 */
export class FigureGauges {
  private readonly gauges = new Map<GaugedFigure, Gauge>();
  /** Reads the stores into the gauges (throttled: scrape-throttle.ts). */
  readonly refresh: () => Promise<void>;

  constructor(
    registry: Registry,
    private readonly db: Queryable,
    // Two aggregate reads over up to 7 days of rows: once per 5 s per replica is plenty for
    // figures whose shortest window is 5 minutes, whatever the scrape interval.
    minIntervalMs = 5_000,
  ) {
    this.refresh = sharedResult(() => this.read(), minIntervalMs);
    for (const id of GAUGED_FIGURES) {
      const spec = FIGURE_METRICS[`figure_${id}`];
      this.gauges.set(
        id,
        new Gauge({ name: spec.name, help: spec.help, labelNames: spec.labels, registers: [registry] }),
      );
    }
  }

  private set(id: GaugedFigure, window: FigureWindow, value: number | null): void {
    const gauge = this.gauges.get(id);
    if (!gauge) return;
    if (value === null) gauge.remove({ window });
    else gauge.set({ window }, value * FIGURES[id].metric.scale);
  }

  private async read(): Promise<void> {
    try {
      const now = new Date();
      const attemptWindows = FIGURES.attempt_success_rate.metric.windows;
      const [row, attempts] = await Promise.all([
        kpiReadsStore.period(this.db, new Date(now.getTime() - FIGURE_WINDOWS["7d"]), now),
        attemptStats.windowCounts(
          this.db,
          Object.fromEntries(attemptWindows.map((w) => [w, FIGURE_WINDOWS[w]])) as Record<
            FigureWindow,
            number
          >,
        ),
      ]);
      const kpis = kpisOf(row, false);
      for (const id of GAUGED_FIGURES) {
        // The registry names the KPI measure a figure is: the gauge takes that very value.
        const field = (FIGURES[id] as Figure).kpi as keyof Kpis | undefined;
        if (field === undefined) continue;
        for (const w of FIGURES[id].metric.windows) this.set(id, w, kpis[field] as number | null);
      }
      for (const w of attemptWindows) this.set("attempt_success_rate", w, successRate(attempts[w].current));
    } catch {
      for (const g of this.gauges.values()) g.reset();
    }
  }
}
