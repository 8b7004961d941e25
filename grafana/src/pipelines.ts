import { FIGURES } from "../../contract/figures.ts";
import { DASHBOARD_UIDS } from "./config.ts";
import { templateLink } from "./console-links.ts";
import { atLeast, type DashboardSpec } from "./panels.ts";
import { q } from "./queries.ts";

/** Pipelines: runs in flight, outcomes, durations, step failures and retries, schedules. */
export const pipelines: DashboardSpec = {
  uid: DASHBOARD_UIDS.pipelines,
  title: "Overseer / Pipelines",
  description:
    "Pipeline runs by template and state, run and step durations, step failures and retries, schedule fires.",
  variables: ["template"],
  rows: [
    {
      title: "Runs",
      panels: [
        {
          kind: "stat",
          title: "Runs in progress",
          description: "Runs running, paused or snoozed (read from Postgres at scrape).",
          targets: [{ expr: q.runsInProgress }],
          w: 6,
        },
        {
          kind: "stat",
          title: `${FIGURES.run_success_rate.name} (1h)`,
          noValue: "no runs ended",
          description:
            "Figure run_success_rate (docs/figures.md) per template: runs that completed / runs that completed or failed in the last hour; cancelled runs are neither.",
          targets: [{ expr: q.runSuccessByTemplate, legend: "{{template}}", links: [templateLink()] }],
          unit: "percentunit",
          steps: atLeast(0.8),
          w: 18,
        },
        {
          kind: "timeseries",
          title: "Runs in progress by state",
          description: "running, paused, snoozed.",
          targets: [{ expr: q.runsInProgressByState, legend: "{{state}}" }],
          stacked: true,
        },
        {
          kind: "timeseries",
          title: "Runs started by template",
          description: "Runs started per second (API, schedules).",
          targets: [{ expr: q.runsStartedByTemplate, legend: "{{template}}", links: [templateLink()] }],
          unit: "ops",
        },
        {
          kind: "timeseries",
          title: "Runs finished by state",
          description: "Runs that ended per second, by template and state (completed, failed, cancelled).",
          targets: [
            { expr: q.runsFinishedByState, legend: "{{template}} {{state}}", links: [templateLink()] },
          ],
          unit: "ops",
        },
        {
          kind: "timeseries",
          title: "Run duration",
          description: "Start to completion of completed runs, p50 and p95 by template.",
          targets: [
            { expr: q.runDurationP50, legend: "{{template}} p50", links: [templateLink()] },
            { expr: q.runDurationP95, legend: "{{template}} p95", links: [templateLink()] },
          ],
          unit: "s",
          w: 12,
        },
        {
          kind: "timeseries",
          title: "Schedule fires",
          description: "Schedule ticks that started a run, by template.",
          targets: [{ expr: q.scheduleFires, legend: "{{template}}", links: [templateLink()] }],
          w: 12,
        },
      ],
    },
    {
      title: "Steps",
      panels: [
        {
          kind: "timeseries",
          title: "Step duration p95",
          description: "Completed steps, p95 by template and step.",
          targets: [{ expr: q.stepDurationP95, legend: "{{template}}/{{step}}", links: [templateLink()] }],
          unit: "s",
        },
        {
          kind: "timeseries",
          title: "Step failures",
          description: "Steps that failed, by template and step (a failed budget step fails its run).",
          targets: [{ expr: q.stepFailures, legend: "{{template}}/{{step}}", links: [templateLink()] }],
        },
        {
          kind: "timeseries",
          title: "Operator step retries",
          description:
            "Steps an operator retried. Automatic attempt retries are on the Tasks dashboard, under the step's capability.",
          targets: [{ expr: q.stepRetries, legend: "{{template}}/{{step}}", links: [templateLink()] }],
        },
      ],
    },
  ],
};
