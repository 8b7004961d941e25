/**
 * The Grafana dashboards' uids, by what each shows. They never change (alert rules and the console
 * link to `<grafana>/d/<uid>`); grafana/src builds the dashboards under them and the console links
 * to them with the time range and variables set.
 */
export const GRAFANA_DASHBOARDS = {
  oncall: "overseer-oncall",
  agents: "overseer-agents",
  tasks: "overseer-tasks",
  pipelines: "overseer-pipelines",
  llm: "overseer-llm",
  recovery: "overseer-recovery",
} as const;
export type GrafanaDashboard = keyof typeof GRAFANA_DASHBOARDS;
