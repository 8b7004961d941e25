import type { Static } from "typebox";
import type {
  AgentMetricsReply as AgentMetricsSchema,
  AgentWindow as AgentWindowSchema,
} from "../../../contract/schemas/coordination.ts";
import type { AgentStatusView, AgentsStatusReply } from "../../../contract/schemas/dashboard.ts";
import { type ActionSpec, actionBar } from "../actions.ts";
import { api } from "../api.ts";
import { badge, errorBox, fill, h, kv, link, table, tile } from "../dom.ts";
import { ago, count, duration, percent, short, time } from "../format.ts";
import { grafanaLink } from "../grafana.ts";
import { hrefOf, type Page, type PageContext } from "../router.ts";
import { overridesInForce } from "./override-help.ts";
import { auditTrail } from "./task-audit.ts";
import { plural, type TaskListReply, taskTable } from "./task-shared.ts";

type AgentMetrics = Static<typeof AgentMetricsSchema>;
type AgentWindow = Static<typeof AgentWindowSchema>;

const STATE_HELP: Record<AgentStatusView["state"], string> = {
  active: "heartbeating and claiming work",
  stale: "its heartbeats are late; it may be overloaded or cut off",
  draining: "finishing or handing back its work; it claims nothing new",
  dead: "no heartbeat for too long; its leases were taken back",
  left: "deregistered",
};

/**
 * One agent: `GET /api/dashboard/agents/:id/metrics` (leases, heartbeat, 1 h and 24 h outcomes), its
 * row of `GET /api/dashboard/agents/status`, its recent tasks (`GET /api/tasks?agentId=`), drain and
 * restart, and its audit trail.
 */
export const agentPage: Page = {
  pattern: "/agents/:id",
  title: "Agent",
  under: "/fleet",
  async render(ctx: PageContext) {
    const id = ctx.params.id ?? "";
    fill(ctx.root, h("h1", null, `Agent ${short(id)}`), h("p", null, "Loading…"));
    let m: AgentMetrics;
    try {
      m = await api.get<AgentMetrics>(`/api/dashboard/agents/${encodeURIComponent(id)}/metrics`);
    } catch (e) {
      fill(ctx.root, h("h1", null, `Agent ${short(id)}`), errorBox(e), link("#/fleet", "← Fleet"));
      return;
    }
    const [row, tasks, trail, held] = await Promise.all([
      statusRow(m),
      recentTasks(m),
      auditTrail(ctx.session, m.agentId),
      overridesInForce(),
    ]);
    const specs = actions(m, ctx);
    fill(
      ctx.root,
      h(
        "p",
        { class: "help" },
        link("#/fleet", "← Fleet"),
        " · ",
        link(hrefOf("/fleet", { role: m.role }), `agents of role ${m.role}`),
      ),
      h("h1", null, `${m.name} `, badge(m.state)),
      h(
        "p",
        { class: "sub" },
        `Role ${m.role}: ${STATE_HELP[m.state]}. `,
        grafanaLink(
          ctx.session,
          "agents",
          "Agents dashboard",
          { role: m.role },
          { from: "now-24h", to: "now" },
        ),
      ),
      held,
      specs.length > 0
        ? actionBar(ctx.session, specs)
        : h("p", { class: "help" }, "This agent has left the fleet: there is nothing to drain or restart."),
      h(
        "div",
        { class: "tiles" },
        tile(
          "leases held now / slots",
          `${count(m.currentLeases)} / ${count(m.concurrency)}`,
          "tasks it holds against how many it may run at once",
        ),
        tile(`since last heartbeat (read from ${m.heartbeat.source})`, duration(m.heartbeat.ageMs)),
        row
          ? tile(
              "health score (0–100)",
              `${row.healthScore} / 100`,
              "heartbeat regularity and the last hour's outcomes",
            )
          : null,
        tile(
          "attempt success rate, 1 h",
          percent(m.windows["1h"].successRate),
          "completed / (completed + failed + timed out + lost)",
        ),
        tile("attempt success rate, 24 h", percent(m.windows["24h"].successRate)),
      ),
      h("h2", null, "Finished attempts"),
      windows(m),
      h(
        "p",
        { class: "help" },
        "Attempts are leases: a task retried three times counts three. Released (handed back) and cancelled attempts count as neither success nor failure.",
      ),
      row ? [h("h2", null, "Registration"), h("section", { class: "card" }, kv(facts(m, row)))] : null,
      h("h2", null, "Recent tasks"),
      tasks,
      h("h2", null, "Audit trail"),
      trail,
    );
  },
};

/** The newest tasks the agent held a lease of. */
async function recentTasks(m: AgentMetrics): Promise<HTMLElement> {
  try {
    const r = await api.get<TaskListReply>("/api/tasks", { agentId: m.agentId, limit: 20 });
    return h(
      "div",
      null,
      h(
        "p",
        { class: "help" },
        `Tasks this agent held a lease of (any attempt), newest first: ${count(r.total)} in all. `,
        r.total > r.tasks.length ? link(hrefOf("/tasks", { agentId: m.agentId }), "All of them →") : null,
      ),
      taskTable(r.tasks, new Map([[m.agentId, m.name]]), "This agent has held no task yet."),
    );
  } catch (e) {
    return errorBox(e);
  }
}

/** The agent's row of the status list (health, load, capabilities), or null if it cannot be read. */
async function statusRow(m: AgentMetrics): Promise<AgentStatusView | null> {
  try {
    const reply = await api.get<AgentsStatusReply>("/api/dashboard/agents/status", {
      role: m.role,
      includeEnded: "true",
      limit: 99_999,
    });
    return reply.agents.find((a) => a.id === m.agentId) ?? null;
  } catch {
    return null;
  }
}

function windows(m: AgentMetrics): HTMLElement {
  const rows: Array<[string, AgentWindow]> = [
    ["Last hour", m.windows["1h"]],
    ["Last 24 hours", m.windows["24h"]],
  ];
  return table(
    rows,
    [
      { head: "Window", cell: ([w]) => w },
      { head: "Completed", cell: ([, w]) => plural(w.completed, "attempt"), num: true },
      {
        head: "Failed (failed / timed out / lost)",
        cell: ([, w]) =>
          `${plural(w.failed, "attempt")} (${w.byOutcome.failed} / ${w.byOutcome.timedOut} / ${w.byOutcome.lost})`,
        num: true,
      },
      { head: "Success rate", cell: ([, w]) => percent(w.successRate), num: true },
      { head: "Mean attempt time", cell: ([, w]) => duration(w.meanDurationMs), num: true },
      { head: "Mean time to complete", cell: ([, w]) => duration(w.meanCompletedDurationMs), num: true },
    ],
    "No data.",
  );
}

function facts(m: AgentMetrics, a: AgentStatusView): Array<[string, HTMLElement | string]> {
  const ended = a.state === "left" || a.state === "dead";
  return [
    ["Id", h("span", { class: "mono" }, m.agentId)],
    ["Capabilities (task types it runs)", a.capabilities.length ? a.capabilities.join(", ") : "none"],
    ...(ended
      ? []
      : ([
          ["Load at last heartbeat", a.load === null ? "no heartbeat yet" : `${Math.round(a.load * 100)} %`],
          [
            "Last heartbeat",
            a.lastHeartbeatAt ? `${time(a.lastHeartbeatAt)} (${ago(a.lastHeartbeatAt)})` : "none yet",
          ],
        ] as Array<[string, string]>)),
    ["In this state since", `${time(a.stateChangedAt)} (${ago(a.stateChangedAt)})`],
    ["Registered", `${time(a.registeredAt)} (${ago(a.registeredAt)})`],
    [
      "Attempts finished, last hour",
      `${count(a.recent.completed)} completed, ${count(a.recent.failed)} failed`,
    ],
  ];
}

function actions(m: AgentMetrics, ctx: PageContext): ActionSpec[] {
  if (m.state === "left") return [];
  const url = `/api/dashboard/agents/${encodeURIComponent(m.agentId)}/restart`;
  const leases =
    m.currentLeases === 0
      ? "It holds no task now."
      : `The ${plural(m.currentLeases, "task")} it holds go back to the queue at once for other agents (not counted as failed attempts).`;
  const drain: ActionSpec = {
    label: "Drain",
    need: "operator",
    title: `Drain ${m.name}`,
    explain: `The agent stops claiming work and is told (with its next heartbeat) to finish and stop. ${leases} It does not come back by itself.`,
    reason: "required",
    run: (reason) => api.post(url, { mode: "drain", reason }),
    done: ctx.reload,
  };
  const restart: ActionSpec = {
    label: "Restart",
    need: "operator",
    danger: true,
    title: `Restart ${m.name}`,
    explain: `The agent stops claiming work and is restarted: a process this daemon manages is restarted at once, any other agent gets the restart command with its next heartbeat and its process manager starts it again. ${leases}${m.state === "dead" ? " A dead agent can only be restarted when this daemon manages its process (otherwise: not found)." : ""}`,
    reason: "required",
    run: (reason) => api.post(url, { mode: "restart", reason }),
    done: ctx.reload,
  };
  // Draining twice changes nothing: a draining or dead agent can only be restarted.
  return m.state === "dead" || m.state === "draining" ? [restart] : [drain, restart];
}
