import { DASHBOARD_UIDS } from "./config.ts";
import { agentLink, roleLink } from "./console-links.ts";
import { atLeast, atMost, type DashboardSpec } from "./panels.ts";
import { q } from "./queries.ts";

/** The fleet: who is registered, who is live, how quiet each role is, who died. */
export const agents: DashboardSpec = {
  uid: DASHBOARD_UIDS.agents,
  title: "Overseer / Agents",
  description: "Agents by state and role, heartbeat ages, lifecycle transitions and deaths.",
  variables: ["role"],
  rows: [
    {
      title: "Fleet",
      panels: [
        {
          kind: "stat",
          title: "Agents by state",
          description:
            "Every agent row by lifecycle state. dead and left only grow (agents are never deleted).",
          targets: [{ expr: q.agentsByState, legend: "{{state}}" }],
          w: 12,
        },
        {
          kind: "stat",
          title: "Deaths in range",
          description: "Agents declared dead in the dashboard's time range.",
          targets: [{ expr: q.agentDeathsInRange }],
          steps: atMost(1, 5),
          w: 6,
        },
        {
          kind: "stat",
          title: "Heartbeats per second",
          description: "Heartbeats accepted per second, all agents.",
          targets: [{ expr: q.heartbeatsPerSecond }],
          unit: "ops",
          steps: atLeast(0.1),
          w: 6,
        },
        {
          kind: "timeseries",
          title: "Active agents by role",
          description: "Agents in state active, per role.",
          targets: [{ expr: q.agentsActiveByRole, legend: "{{role}}", links: [roleLink()] }],
          stacked: true,
          w: 12,
        },
        {
          kind: "timeseries",
          title: "Live agents by role and state",
          description: "Agents active, stale (silent, not yet dead) or draining, per role.",
          targets: [{ expr: q.agentsLiveByRoleState, legend: "{{role}} {{state}}", links: [roleLink()] }],
          w: 12,
        },
      ],
    },
    {
      title: "Liveness",
      panels: [
        {
          kind: "timeseries",
          title: "Largest heartbeat age by role",
          noValue: "no live agent",
          description:
            "Silence of the quietest live agent of each role (Redis clock). Dead after OVERSEER_AGENT_DEAD_AFTER_MS.",
          targets: [{ expr: q.heartbeatAgeMaxByRole, legend: "{{role}}", links: [roleLink()] }],
          unit: "s",
        },
        {
          kind: "timeseries",
          title: "Quietest agents",
          noValue: "no live agent",
          description:
            "The 10 live agents with the oldest heartbeat (per-agent series are capped by OVERSEER_METRICS_MAX_AGENT_SERIES).",
          targets: [
            { expr: q.heartbeatAgeTopAgents, legend: "{{role}} {{agent}}", links: [agentLink(), roleLink()] },
          ],
          unit: "s",
        },
        {
          kind: "timeseries",
          title: "Heartbeat latency p99",
          description:
            "p99 duration of heartbeats, over HTTP (POST /api/agents/:id/heartbeat) and over sessions together. Slow heartbeats look like silent agents.",
          targets: [{ expr: q.heartbeatLatencyP99, legend: "p99" }],
          unit: "s",
        },
        {
          kind: "timeseries",
          title: "Agents on sessions",
          description:
            "Agent sessions (WebSocket) open, all replicas. Agents not on a session heartbeat over HTTP.",
          targets: [{ expr: q.agentSessionsOpen, legend: "sessions open" }],
          w: 12,
        },
        {
          kind: "timeseries",
          title: "Session closes, resumes and deaths by disconnect",
          description:
            "Sessions closed per second by reason (lost: no goodbye), lost sessions resumed within OVERSEER_SESSION_GRACE_MS, and grace expiries (the agent was declared dead).",
          targets: [
            { expr: q.sessionDisconnectsByReason, legend: "closed: {{reason}}" },
            { expr: q.sessionsResumed, legend: "resumed" },
            { expr: q.sessionGraceExpiries, legend: "grace expired: dead" },
          ],
          unit: "ops",
          w: 12,
        },
        {
          kind: "timeseries",
          title: "Lifecycle transitions by target state",
          description:
            "Transitions per second into active (registrations, recoveries), stale, dead, draining and left.",
          targets: [{ expr: q.transitionsByTo, legend: "to {{to}}" }],
          unit: "ops",
          w: 12,
        },
        {
          kind: "timeseries",
          title: "Deaths and the work they moved",
          description:
            "Agents declared dead, and leases re-queued at once by reason (agent_dead, agent_left, released).",
          targets: [
            { expr: q.agentDeaths, legend: "agent deaths" },
            { expr: q.reassignedByReason, legend: "reassigned: {{reason}}" },
          ],
          w: 12,
        },
      ],
    },
  ],
};
