import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { agents } from "./agents.ts";
import { llm } from "./llm.ts";
import { oncall } from "./oncall.ts";
import { buildDashboard, type DashboardSpec } from "./panels.ts";
import { pipelines } from "./pipelines.ts";
import { recovery } from "./recovery.ts";
import { tasks } from "./tasks.ts";

/** Every Overseer dashboard, in the order of the link bar. */
export const DASHBOARD_SPECS: DashboardSpec[] = [oncall, agents, tasks, pipelines, llm, recovery];

/** The file a dashboard is written to, under grafana/dashboards/. */
export const fileNameOf = (uid: string): string => `${uid}.json`;

/** Every dashboard as Grafana JSON model, keyed by file name; pure (the drift test calls it too). */
export function renderDashboards(): Map<string, string> {
  const out = new Map<string, string>();
  for (const spec of DASHBOARD_SPECS) out.set(fileNameOf(spec.uid), render(buildDashboard(spec)));
  return out;
}

function render(d: dashboard.Dashboard): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}

export { buildDashboard };
