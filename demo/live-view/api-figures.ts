import { COST_ROUTES } from "../../contract/routes/costs.ts";
import { DASHBOARD_ROUTES } from "../../contract/routes/dashboard.ts";
import type { KpiReply } from "../../contract/schemas/analytics.ts";
import type { AgentsStatusReply, TaskQueueReply } from "../../contract/schemas/dashboard.ts";

/**
 * The view's figures, read from the daemon's own API with the viewer token: the same reads the
 * dashboards, the CLI and the WebSocket snapshots answer from, so the terminal never shows a number
 * that another surface would define differently (contract/figures.ts).
 */
export interface ApiFigures {
  /** When the reads finished. */
  at: number;
  /** Figure agents_by_state: live agents by state (GET /api/dashboard/agents/status → byState). */
  agentsByState: Record<string, number>;
  /** Unfinished tasks by queue state (GET /api/dashboard/tasks/queue → totals). */
  queueTotals: Record<string, number>;
  /** Figure runs_active (GET /api/analytics/kpis → current.runsActive). */
  runsUnfinished: number | null;
}

export type FetchLike = (url: string, init: { headers: Record<string, string> }) => Promise<Response>;

// The KPI route's smallest range: runsActive is "now" whatever the range.
const KPIS = `${COST_ROUTES.kpis.url}?range=7days`;

export async function readApiFigures(
  baseUrl: string,
  viewerToken: string,
  fetchImpl: FetchLike = fetch,
  now: () => number = Date.now,
): Promise<ApiFigures> {
  const get = async <T>(path: string): Promise<T> => {
    const r = await fetchImpl(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${viewerToken}` } });
    if (!r.ok) throw new Error(`GET ${path}: HTTP ${r.status}`);
    return (await r.json()) as T;
  };
  const [agents, queue, kpis] = await Promise.all([
    get<AgentsStatusReply>(DASHBOARD_ROUTES.agentsStatus.url),
    get<TaskQueueReply>(DASHBOARD_ROUTES.taskQueue.url),
    get<KpiReply>(KPIS),
  ]);
  return {
    at: now(),
    agentsByState: agents.byState,
    queueTotals: queue.totals,
    runsUnfinished: kpis.current.runsActive,
  };
}
