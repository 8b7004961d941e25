import { FIGURES } from "../../contract/figures.ts";
import { DASHBOARD_UIDS } from "./config.ts";
import { taskTypeLink } from "./console-links.ts";
import { atLeast, type DashboardSpec } from "./panels.ts";
import { q } from "./queries.ts";

/** Tasks and queues: throughput, success, backlog, waits, durations, failures and retries. */
export const tasks: DashboardSpec = {
  uid: DASHBOARD_UIDS.tasks,
  title: "Overseer / Tasks and queues",
  description:
    "Task throughput and success, queue depth and age, queue wait and attempt duration, failures, retries and dead letters.",
  variables: ["type"],
  rows: [
    {
      title: "Throughput",
      panels: [
        {
          kind: "timeseries",
          title: "Submitted, completed, failed",
          description: "Tasks accepted, tasks completed and failed attempts, per second.",
          targets: [
            { expr: q.submittedPerSecond, legend: "submitted" },
            { expr: q.completedPerSecond, legend: "completed" },
            { expr: q.failedPerSecond, legend: "failed attempts" },
          ],
          unit: "ops",
        },
        {
          kind: "timeseries",
          title: `${FIGURES.attempt_success_rate.name} by type`,
          noValue: "no attempts ended",
          description: "Completed attempts / finished attempts per type.",
          targets: [{ expr: q.attemptSuccessByType, legend: "{{type}}", links: [taskTypeLink()] }],
          unit: "percentunit",
          min: 0,
          max: 1,
          steps: atLeast(0.8),
        },
        {
          kind: "timeseries",
          title: "Failures by type and category",
          description: "Failed attempts per second: agent-reported categories, timeout, lost_heartbeat.",
          targets: [
            { expr: q.failuresByTypeCategory, legend: "{{type}} {{category}}", links: [taskTypeLink()] },
          ],
          unit: "ops",
        },
      ],
    },
    {
      title: "Queues",
      panels: [
        {
          kind: "timeseries",
          title: "Depth by state",
          description: "Unfinished tasks by state: ready, delayed (retry backoff), active, failed, dead.",
          targets: [{ expr: q.depthByState, legend: "{{state}}" }],
          stacked: true,
        },
        {
          kind: "timeseries",
          title: "Ready backlog by type",
          description: "Claimable tasks per type.",
          targets: [{ expr: q.backlogReadyByType, legend: "{{type}}", links: [taskTypeLink("queued")] }],
          stacked: true,
        },
        {
          kind: "timeseries",
          title: "Oldest task age",
          noValue: "none waiting",
          description:
            "Oldest ready task (time since claimable) and oldest active task (time since its claim).",
          targets: [{ expr: q.oldestByState, legend: "{{state}}" }],
          unit: "s",
        },
        {
          kind: "timeseries",
          title: "Queue wait",
          description: "Time from claimable to claimed, p50 and p99.",
          targets: [
            { expr: q.queueWaitP50, legend: "p50" },
            { expr: q.queueWaitP99, legend: "p99" },
          ],
          unit: "s",
        },
        {
          kind: "timeseries",
          title: "Queue wait p99 by type",
          description: "Which task types wait longest for an agent.",
          targets: [{ expr: q.queueWaitP99ByType, legend: "{{type}}", links: [taskTypeLink()] }],
          unit: "s",
        },
        {
          kind: "timeseries",
          title: "Attempt duration p95",
          description: "Claim to outcome, by type and outcome.",
          targets: [
            { expr: q.durationP95ByTypeOutcome, legend: "{{type}} {{outcome}}", links: [taskTypeLink()] },
          ],
          unit: "s",
        },
      ],
    },
    {
      title: "Retries and dead letters",
      panels: [
        {
          kind: "timeseries",
          title: "Retries by type",
          description:
            "Tasks scheduled for another attempt after a backoff (retryable failure or timeout), per second.",
          targets: [{ expr: q.retriesByType, legend: "{{type}}", links: [taskTypeLink()] }],
          unit: "ops",
        },
        {
          kind: "timeseries",
          title: "Reassigned by reason",
          description:
            "Leases that ended with the task queued again at once: agent_dead, agent_left, released.",
          targets: [{ expr: q.reassignedByReason, legend: "{{reason}}" }],
        },
        {
          kind: "timeseries",
          title: "Dead-lettered by type",
          description:
            "Tasks moved to dead after their last allowed attempt. They wait for an operator retry.",
          targets: [{ expr: q.deadLetteredByType, legend: "{{type}}", links: [taskTypeLink("dead")] }],
        },
      ],
    },
    {
      title: "HTTP API",
      panels: [
        {
          kind: "timeseries",
          title: "Requests by route and status",
          description: "HTTP requests per second by route template and status code.",
          targets: [{ expr: q.httpRateByRouteStatus, legend: "{{route}} {{status_code}}" }],
          unit: "reqps",
          w: 12,
        },
        {
          kind: "timeseries",
          title: "Slowest routes (p99)",
          description: "The 10 routes with the highest p99 duration.",
          targets: [{ expr: q.httpP99ByRoute, legend: "{{route}}" }],
          unit: "s",
          w: 12,
        },
      ],
    },
  ],
};
