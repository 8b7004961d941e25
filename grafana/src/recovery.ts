import { DASHBOARD_UIDS } from "./config.ts";
import { taskTypeLink } from "./console-links.ts";
import { atLeast, atMost, type DashboardSpec } from "./panels.ts";
import { q } from "./queries.ts";

/** Recovery and audit: what the daemon repaired, refused and was told to do, and its own health. */
export const recovery: DashboardSpec = {
  uid: DASHBOARD_UIDS.recovery,
  title: "Overseer / Recovery and audit",
  description:
    "Reconciler repairs, lease conflicts, reassignments and dead letters, operator actions, background-loop errors, dependencies, the leader and the daemon process.",
  variables: [],
  rows: [
    {
      title: "Repairs and refusals",
      panels: [
        {
          kind: "timeseries",
          title: "Reconciler repairs by kind",
          description:
            "Drift repaired: missing_dispatch, orphaned_lease, untracked_lease, liveness_mirror. Steady repairs mean Redis keeps losing writes.",
          targets: [{ expr: q.reconcileRepairs, legend: "{{kind}}" }],
        },
        {
          kind: "timeseries",
          title: "Lease conflicts by operation",
          description:
            "Calls refused with 409 because their lease was no longer current (a zombie agent, or a late completion after reassignment).",
          targets: [{ expr: q.leaseConflicts, legend: "{{operation}}" }],
        },
        {
          kind: "timeseries",
          title: "Reassignments and dead letters",
          description: "Leases re-queued at once by reason, and tasks dead-lettered.",
          targets: [
            { expr: q.reassignedByReason, legend: "reassigned: {{reason}}" },
            {
              expr: q.deadLetteredByAnyType,
              legend: "dead-lettered: {{type}}",
              links: [taskTypeLink("dead")],
            },
          ],
        },
      ],
    },
    {
      title: "Audit",
      panels: [
        {
          kind: "timeseries",
          title: "Operator actions",
          description:
            "Audited operator actions (pause, resume, cancel, step retry, skip, snooze, escalate, budget approvals); each has a row in audit_log.",
          targets: [{ expr: q.operatorActions, legend: "{{action}}" }],
          w: 12,
        },
        {
          kind: "table",
          title: "Operator actions in range",
          description: "How many of each action in the time range.",
          targets: [{ expr: q.operatorActionsInRange }],
          w: 12,
        },
      ],
    },
    {
      title: "Daemon health",
      panels: [
        {
          kind: "timeseries",
          title: "Background-loop errors",
          description:
            "Errors in the leader, liveness, reconcile, pipelines and schedules loops. Usually Redis or Postgres trouble.",
          targets: [{ expr: q.loopErrors, legend: "{{loop}}" }],
        },
        {
          kind: "stat",
          title: "Dependencies",
          noValue: "not read yet",
          description: "1 when postgres / redis answered the last scrape-time read.",
          targets: [{ expr: q.dependencyUp, legend: "{{dependency}}" }],
          valueText: { "0": { text: "down", color: "red" }, "1": { text: "up", color: "green" } },
          steps: atLeast(1),
          h: 8,
        },
        {
          kind: "timeseries",
          title: "Leader by replica and scrape health",
          noValue: "no replica scraped",
          description:
            "Which replica holds the leader lease, and whether Prometheus can scrape each replica.",
          targets: [
            { expr: q.leaderByInstance, legend: "leader {{instance}}" },
            { expr: q.upByInstance, legend: "up {{instance}}" },
          ],
          min: 0,
          max: 1,
        },
        {
          kind: "timeseries",
          title: "CPU",
          noValue: "no replica scraped",
          description: "Daemon CPU seconds per second, per replica.",
          targets: [{ expr: q.cpuByInstance, legend: "{{instance}}" }],
          unit: "percentunit",
          w: 6,
        },
        {
          kind: "timeseries",
          title: "Memory",
          noValue: "no replica scraped",
          description: "Resident set size and V8 heap used, per replica.",
          targets: [
            { expr: q.rssByInstance, legend: "rss {{instance}}" },
            { expr: q.heapUsedByInstance, legend: "heap {{instance}}" },
          ],
          unit: "bytes",
          w: 6,
        },
        {
          kind: "timeseries",
          title: "Event-loop lag p99 and GC",
          noValue: "no replica scraped",
          description: "A blocked event loop delays heartbeats and claims: agents then look silent.",
          targets: [
            { expr: q.eventLoopLagP99, legend: "lag p99 {{instance}}" },
            { expr: q.gcSecondsPerSecond, legend: "gc s/s {{instance}}" },
          ],
          unit: "s",
          steps: atMost(0.1, 0.5),
          w: 6,
        },
        {
          kind: "timeseries",
          title: "File descriptors used",
          noValue: "no replica scraped",
          description: "Open / maximum file descriptors, per replica (Linux only).",
          targets: [{ expr: q.fdUsage, legend: "{{instance}}" }],
          unit: "percentunit",
          w: 6,
        },
        {
          kind: "timeseries",
          title: "Leader changes and fenced writes",
          description:
            "Terms begun (acquired) and ended (lost, by reason) per replica, and leader-only transactions the Postgres fence refused. See the runbook's leader-flapping section.",
          targets: [
            { expr: q.leaderChanges, legend: "{{change}} {{reason}} {{instance}}" },
            { expr: q.leaderFencedWrites, legend: "fenced writes {{instance}}" },
          ],
          min: 0,
          w: 24,
        },
      ],
    },
  ],
};
