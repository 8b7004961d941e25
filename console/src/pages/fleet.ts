import type { Static } from "typebox";
import type { DistributionReply } from "../../../contract/schemas/coordination.ts";
import type { AgentStatusView, AgentsStatusReply } from "../../../contract/schemas/dashboard.ts";
import { api } from "../api.ts";
import { anyOf, badge, fill, formQuery, h, link, table, tile } from "../dom.ts";
import { openFeed } from "../feed.ts";
import { ago, count, short, time } from "../format.ts";
import { grafanaLink } from "../grafana.ts";
import type { Page, PageContext } from "../router.ts";
import { VirtualTable } from "../virtual-table.ts";

/** How often the whole list is read again: heartbeat ages and loads are not streamed (one per agent per second). */
const REFRESH_MS = 15_000;
const STATES = ["active", "stale", "draining", "dead"] as const;

/**
 * The fleet: every live agent by state and role, its health, heartbeat age and load. Drawn from one
 * read of `GET /api/dashboard/agents/status`; state changes arrive live from the agents feed, and
 * the list is read again every 15 s for ages and loads.
 */
export const fleetPage: Page = {
  pattern: "/fleet",
  title: "Fleet",
  nav: "Fleet",
  async render(ctx: PageContext) {
    const role = ctx.query.get("role") ?? "";
    const state = ctx.query.get("state") ?? "";
    const search = ctx.query.get("q") ?? "";
    const summary = h("div");
    const status = h("p", { class: "live", "aria-live": "off" }, "Loading…");
    const agents = new Map<string, AgentStatusView>();
    // Each agent's leases held now, from the distribution read (after the list is drawn: not on the first paint's path).
    const leases = new Map<string, number>();
    let readAt = Date.now();
    const list = new VirtualTable<AgentStatusView>(
      [
        // Names need not be unique (a restarted agent registers again under its name): the id tells them apart.
        {
          head: "Agent",
          cell: (a) =>
            h(
              "span",
              null,
              link(`#/agents/${a.id}`, a.name),
              " ",
              h("span", { class: "mono help" }, short(a.id)),
            ),
          width: "22%",
        },
        { head: "Role", cell: (a) => a.role, width: "12%" },
        { head: "State", cell: (a) => badge(a.state), width: "10%" },
        { head: "Health", cell: (a) => `${a.healthScore}/100`, num: true, width: "8%" },
        { head: "Heartbeat", cell: (a) => heartbeat(a, readAt), num: true, width: "12%" },
        {
          head: "Load (its report)",
          cell: (a) => (a.load === null ? "—" : `${Math.round(a.load * 100)} %`),
          num: true,
          width: "8%",
        },
        {
          head: "Leases / slots",
          cell: (a) => `${leases.get(a.id) ?? "…"} / ${a.concurrency}`,
          num: true,
          width: "10%",
        },
        {
          head: "Done / failed (1 h)",
          cell: (a) => `${a.recent.completed} / ${a.recent.failed}`,
          num: true,
          width: "13%",
        },
      ],
      "Agents",
    );

    const filters = h(
      "form",
      { class: "filters", role: "search" },
      h("label", null, "Role", h("input", { name: "role", value: role, list: "roles" })),
      h("label", null, "State", anyOf("state", STATES, state)),
      h("label", null, "Name contains", h("input", { name: "q", value: search })),
      h("button", { type: "submit" }, "Filter"),
    );
    filters.addEventListener("submit", (e) => {
      e.preventDefault();
      ctx.setQuery(formQuery(filters));
    });

    fill(
      ctx.root,
      h("h1", null, "Fleet"),
      h(
        "p",
        { class: "sub" },
        "Live agents by state and role. Health is 0–100 from heartbeat regularity and the last hour's outcomes. ",
        grafanaLink(ctx.session, "agents", "Agents dashboard", { role: role || undefined }),
      ),
      summary,
      filters,
      status,
      list.element,
    );

    const draw = () => {
      const all = [...agents.values()];
      const shown = all
        .filter(
          (a) =>
            (!role || a.role === role) &&
            (!state || a.state === state) &&
            (!search || a.name.includes(search)),
        )
        .sort(
          (a, b) =>
            stateRank(a.state) - stateRank(b.state) ||
            a.role.localeCompare(b.role) ||
            a.name.localeCompare(b.name),
        );
      fill(summary, tiles(all), roles(all));
      list.setRows(shown);
      document.body.dataset.fleetRows = String(shown.length);
    };

    const load = async () => {
      const asked = performance.now();
      const reply = await api.get<AgentsStatusReply>("/api/dashboard/agents/status", { limit: 99_999 });
      document.body.dataset.fleetReadMs = String(Math.round(performance.now() - asked));
      readAt = Date.now();
      agents.clear();
      for (const a of reply.agents) agents.set(a.id, a);
      draw();
      // Ages and loads are as of this read (they are not streamed); states change live between reads.
      status.textContent = `${count(reply.total)} live agents. Heartbeat ages, loads and leases as read at ${time(new Date(readAt).toISOString())}, read again every ${REFRESH_MS / 1_000} s; states change live.`;
    };
    const loadLeases = async () => {
      const reply = await api.get<Static<typeof DistributionReply>>("/api/dashboard/tasks/distribution");
      leases.clear();
      for (const a of reply.agents) leases.set(a.agentId, a.leases);
      draw();
    };
    await load();
    document.body.dataset.fleetLoadedAt = String(performance.now());
    void loadLeases().catch(() => undefined);

    const timer = window.setInterval(() => {
      if (document.visibilityState === "visible")
        void load()
          .then(loadLeases)
          .catch(() => undefined);
    }, REFRESH_MS);
    const feed = openFeed(
      "agents",
      (m) => {
        const e = m.event;
        if (m.type !== "event" || !e || typeof e.agentId !== "string") return;
        const known = agents.get(e.agentId);
        const next = nextState(e.type);
        if (e.type === "agent.registered") {
          agents.set(e.agentId, registered(e as unknown as RegisteredEvent));
        } else if (next === "left") {
          agents.delete(e.agentId);
        } else if (known && next) {
          agents.set(e.agentId, { ...known, state: next, stateChangedAt: new Date(e.at).toISOString() });
        } else return;
        draw();
        // The lag from the daemon's event to this page drawing it (the browser test reads it).
        document.body.dataset.feedLagMs = String(Date.now() - e.at);
        document.body.dataset.feedLastEvent = `${e.type} ${e.agentId}`;
      },
      (s, detail) => {
        status.dataset.feed = s;
        if (s !== "live") status.textContent = `Live updates ${s}${detail ? `: ${detail}` : ""}`;
      },
    );
    ctx.onLeave(() => {
      clearInterval(timer);
      feed.close();
    });
  },
};

interface RegisteredEvent {
  agentId: string;
  name: string;
  role: string;
  capabilities: string[];
  at: number;
}

function registered(e: RegisteredEvent): AgentStatusView {
  const at = new Date(e.at).toISOString();
  return {
    id: e.agentId,
    name: e.name,
    role: e.role,
    state: "active",
    capabilities: e.capabilities,
    concurrency: 0,
    load: null,
    heartbeatAgeMs: null,
    lastHeartbeatAt: null,
    registeredAt: at,
    stateChangedAt: at,
    healthScore: 0,
    recent: { completed: 0, failed: 0 },
  };
}

function nextState(type: string): AgentStatusView["state"] | null {
  switch (type) {
    case "agent.recovered":
      return "active";
    case "agent.stale":
      return "stale";
    case "agent.dead":
      return "dead";
    case "agent.draining":
      return "draining";
    case "agent.left":
      return "left";
    default:
      return null;
  }
}

function stateRank(s: string): number {
  return { dead: 0, stale: 1, draining: 2, active: 3 }[s] ?? 4;
}

function heartbeat(a: AgentStatusView, readAt: number): string {
  if (a.heartbeatAgeMs === null) return a.lastHeartbeatAt ? ago(a.lastHeartbeatAt) : "none yet";
  return ago(new Date(readAt - a.heartbeatAgeMs).toISOString());
}

function tiles(all: AgentStatusView[]): HTMLElement {
  const by = new Map<string, number>();
  for (const a of all) by.set(a.state, (by.get(a.state) ?? 0) + 1);
  return h(
    "div",
    { class: "tiles" },
    tile("live agents", count(all.length)),
    STATES.map((s) =>
      h("a", { href: `#/fleet?state=${s}`, class: "tile-link" }, tile(s, count(by.get(s) ?? 0))),
    ),
  );
}

function roles(all: AgentStatusView[]): HTMLElement {
  const by = new Map<string, Record<string, number>>();
  for (const a of all) {
    const r = by.get(a.role) ?? {};
    r[a.state] = (r[a.state] ?? 0) + 1;
    by.set(a.role, r);
  }
  const rows = [...by.entries()].sort(([a], [b]) => a.localeCompare(b));
  return h(
    "details",
    { open: rows.length <= 12 },
    h("summary", null, `${rows.length} roles`),
    table(
      rows,
      [
        { head: "Role", cell: ([r]) => link(`#/fleet?role=${encodeURIComponent(r)}`, r) },
        ...STATES.map((s) => ({
          head: s,
          cell: ([, c]: [string, Record<string, number>]) => count(c[s] ?? 0),
          num: true,
        })),
      ],
      "No agents.",
    ),
  );
}
