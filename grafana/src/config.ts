import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { GRAFANA_DASHBOARDS } from "../../contract/grafana-dashboards.ts";

/**
 * One place for what every dashboard shares (the monitoring-mixin habit): datasource, selectors,
 * uids, tags. Alert rules and the console link to <grafana>/d/<uid>, so the uids never change; they
 * live in the contract, where the daemon (which tells the console) reads them too.
 */
export const DASHBOARD_UIDS = GRAFANA_DASHBOARDS;

/** Tag on every Overseer dashboard; the dashboards' link bar lists them by it. */
export const TAG = "overseer";

/** The provisioned Prometheus datasource (grafana/provisioning/datasources/datasources.yml). */
export const PROMETHEUS_UID = "prometheus";

/** Every panel queries the datasource the `$datasource` variable picks (Prometheus by default). */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana variable reference, not a JS template.
export const DATASOURCE: dashboard.DataSourceRef = { type: "prometheus", uid: "${datasource}" };

/** The selector every Overseer series carries: the scrape job(s) picked by `$job`. */
export const JOB = 'job=~"$job"';

/** Dashboard time range and refresh for a live on-call view. */
export const TIME = { from: "now-1h", to: "now" };
export const REFRESH = "30s";
