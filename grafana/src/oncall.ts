import { FIGURES } from "../../contract/figures.ts";
import { DASHBOARD_UIDS } from "./config.ts";
import { roleLink, taskTypeLink } from "./console-links.ts";
import { atLeast, atMost, type DashboardSpec, nonZeroIsBad } from "./panels.ts";
import { q } from "./queries.ts";

/** The first screen of a page: is work getting done, who is up, what is stuck, what is firing. */
export const oncall: DashboardSpec = {
  uid: DASHBOARD_UIDS.oncall,
  title: "Overseer / On-call overview",
  description:
    "Task and run success, agents up, backlog, failures, firing alerts and the leader. Start here when paged.",
  variables: ["role"],
  rows: [
    {
      title: "Right now",
      panels: [
        {
          kind: "stat",
          // Per attempt, not per task: a retried task that completed shows its failed attempts too.
          title: `${FIGURES.attempt_success_rate.name} (5m)`,
          noValue: "no attempts ended",
          description:
            "Figure attempt_success_rate (docs/figures.md): attempts that completed / attempts that completed, failed, timed out or were lost in the last 5 minutes; released and cancelled ones are neither.",
          targets: [{ expr: q.attemptSuccessLive }],
          unit: "percentunit",
          steps: atLeast(0.8),
          w: 4,
        },
        {
          kind: "stat",
          title: `${FIGURES.run_success_rate.name} (1h)`,
          noValue: "no runs ended",
          description:
            "Figure run_success_rate (docs/figures.md): runs that completed / runs that completed or failed in the last hour; cancelled runs are neither.",
          targets: [{ expr: q.runSuccess }],
          unit: "percentunit",
          steps: atLeast(0.8),
          w: 4,
        },
        {
          kind: "stat",
          title: "Agents active",
          description: "Agents in state active, all roles.",
          targets: [{ expr: q.agentsActive }],
          steps: atLeast(1),
          w: 4,
        },
        {
          kind: "stat",
          title: "Ready backlog",
          description: "Claimable tasks waiting for an agent, all types.",
          targets: [{ expr: q.backlogReady }],
          steps: atMost(100, 1000),
          w: 4,
        },
        {
          kind: "stat",
          title: "Oldest ready task",
          description: "How long the oldest claimable task has waited. See runbook queue-backlog.",
          targets: [{ expr: q.oldestReady }],
          unit: "s",
          steps: atMost(60, 300),
          noValue: "none waiting",
          w: 4,
        },
        {
          kind: "stat",
          title: "Leaders",
          noValue: "no replica scraped",
          description: "Replicas holding the leader lease: exactly 1 is healthy.",
          targets: [{ expr: q.leaders }],
          steps: [
            [null, "red"],
            [1, "green"],
            [2, "red"],
          ],
          w: 4,
        },
        {
          kind: "stat",
          title: "Failed or dead tasks parked",
          description: "Tasks in state failed or dead, waiting for an operator's retry.",
          targets: [{ expr: q.parkedTasks }],
          steps: nonZeroIsBad,
          noValue: "0",
          w: 6,
        },
        {
          kind: "stat",
          title: "Budget approvals pending",
          description: "Mission budget steps waiting for an operator's approval.",
          targets: [{ expr: q.approvalsPending }],
          steps: nonZeroIsBad,
          w: 6,
        },
        {
          kind: "stat",
          title: "Dependencies",
          noValue: "not read yet",
          description: "Postgres and Redis as seen by the daemon's scrape-time reads.",
          targets: [{ expr: q.dependencyUp, legend: "{{dependency}}" }],
          valueText: { "0": { text: "down", color: "red" }, "1": { text: "up", color: "green" } },
          steps: atLeast(1),
          w: 6,
        },
        {
          kind: "stat",
          title: "Scrape targets up",
          noValue: "no target",
          description: "Overseer replicas Prometheus can scrape (the `up` series of the selected jobs).",
          targets: [{ expr: q.targetsUp }],
          steps: atLeast(1),
          w: 6,
        },
      ],
    },
    {
      title: "Work",
      panels: [
        {
          kind: "timeseries",
          title: `${FIGURES.attempt_success_rate.name} by type`,
          noValue: "no attempts ended",
          description:
            "Figure attempt_success_rate (docs/figures.md) per task type: completed attempts / ended attempts.",
          targets: [{ expr: q.attemptSuccessByAnyType, legend: "{{type}}", links: [taskTypeLink()] }],
          unit: "percentunit",
          min: 0,
          max: 1,
        },
        {
          kind: "timeseries",
          title: "Agents active by role",
          description: "Active agents per role.",
          targets: [{ expr: q.agentsActiveByRole, legend: "{{role}}", links: [roleLink()] }],
          stacked: true,
        },
        {
          kind: "timeseries",
          title: "Ready backlog by type",
          description:
            "Claimable tasks per type (max across replicas: every replica reads the same Postgres).",
          targets: [{ expr: q.backlogReadyByAnyType, legend: "{{type}}", links: [taskTypeLink("queued")] }],
          stacked: true,
        },
        {
          kind: "timeseries",
          title: "Failures by category",
          description:
            "Failed attempts per second by category: as reported by agents, `timeout`, `lost_heartbeat`.",
          targets: [{ expr: q.failuresByCategory, legend: "{{category}}" }],
          unit: "ops",
          stacked: true,
        },
        {
          kind: "table",
          title: "Firing alerts",
          description: "Alerts Prometheus is firing now (the `ALERTS` series). Empty is good.",
          targets: [{ expr: q.firingAlerts }],
          noValue: "No alerts firing",
        },
        {
          kind: "timeseries",
          title: "Agent deaths and leader epoch",
          description:
            "Agents declared dead per interval, and the leader lease's fencing epoch (a fast-rising epoch means leadership flaps).",
          targets: [
            { expr: q.agentDeaths, legend: "agent deaths" },
            { expr: q.leaderEpoch, legend: "leader epoch" },
          ],
        },
      ],
    },
  ],
};
