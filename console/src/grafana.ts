import type { GrafanaDashboard } from "../../contract/grafana-dashboards.ts";
import type { ConsoleSession } from "../../contract/schemas/console.ts";
import { h } from "./dom.ts";

/**
 * A link to the Grafana dashboard that shows what this page shows, with its variables and time
 * range set (`var-role=planner`, `from`/`to` in ms or Grafana's `now-1h`). No link at all when the
 * daemon was not told where Grafana is (OVERSEER_GRAFANA_URL): a dead link would be invented.
 */
export function grafanaUrl(
  session: ConsoleSession,
  dashboard: GrafanaDashboard,
  vars: Record<string, string | undefined> = {},
  range: { from: string | number; to: string | number } = { from: "now-1h", to: "now" },
): string | null {
  if (!session.grafana.url) return null;
  const q = new URLSearchParams({ from: String(range.from), to: String(range.to) });
  for (const [k, v] of Object.entries(vars)) if (v) q.set(`var-${k}`, v);
  return `${session.grafana.url}/d/${session.grafana.dashboards[dashboard]}?${q.toString()}`;
}

export function grafanaLink(
  session: ConsoleSession,
  dashboard: GrafanaDashboard,
  label: string,
  vars?: Record<string, string | undefined>,
  range?: { from: string | number; to: string | number },
): HTMLElement | null {
  const href = grafanaUrl(session, dashboard, vars, range);
  if (!href) return null;
  return h("a", { class: "grafana", href, target: "_blank", rel: "noopener" }, `${label} in Grafana ↗`);
}
