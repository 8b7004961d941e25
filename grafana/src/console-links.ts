import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import type { TaskState } from "../../contract/schemas/tasks.ts";

/**
 * Links from panels to the operator console, the single-page app the daemon serves at `/ui/` (hash
 * routes). Every dashboard has a `console_url` variable, the console's base URL; a panel's series
 * label (an agent id, a role, a task type, a pipeline template) fills in the page. The console's
 * path shapes are written here and nowhere else.
 */

/** The dashboard variable holding the console's base URL, without a trailing slash. */
export const CONSOLE_URL_VARIABLE = "console_url";
export const CONSOLE_URL_DEFAULT = "http://127.0.0.1:8080/ui";

/** A data link: Grafana's field config `links` item. */
export interface ConsoleLink {
  title: string;
  url: string;
  targetBlank: boolean;
}

/**
 * A label of the clicked series, percent-encoded (Grafana's default for data links only escapes
 * like encodeURI, which leaves `&`, `#` and `/` in a value as they are).
 */
const label = (name: string): string => `\${__field.labels.${name}:percentencode}`;

/** `${console_url}/#<route>`: the console's hash route under the base URL the variable holds. */
const link = (title: string, route: string): ConsoleLink => ({
  title,
  url: `\${${CONSOLE_URL_VARIABLE}}/#${route}`,
  targetBlank: true,
});

/** One agent's page, from the `agent` label (the agent id, docs/metrics.md). */
export const agentLink = (): ConsoleLink => link("Open agent in the console", `/agents/${label("agent")}`);

/** The fleet filtered by the series' `role`. */
export const roleLink = (): ConsoleLink =>
  link("Open this role's agents in the console", `/fleet?role=${label("role")}`);

/**
 * Tasks of the series' task `type` (the label of overseer_tasks_*, overseer_task_* and
 * overseer_queue_*; not the `type` of overseer_llm_tokens_total, which is input or output),
 * optionally in one API task state.
 */
export const taskTypeLink = (state?: TaskState): ConsoleLink =>
  state === undefined
    ? link("Open tasks of this type in the console", `/tasks?type=${label("type")}`)
    : link(`Open ${state} tasks of this type in the console`, `/tasks?type=${label("type")}&state=${state}`);

/** Runs of the series' pipeline `template`. */
export const templateLink = (): ConsoleLink =>
  link("Open runs of this template in the console", `/runs?template=${label("template")}`);

/**
 * One run's page, from a label holding the run id. No Overseer metric has a run-id label (it would
 * be unbounded), so no panel uses it today; it keeps the route with the others.
 */
export const runLink = (runIdLabel: string): ConsoleLink =>
  link("Open run in the console", `/runs/${label(runIdLabel)}`);

/** The `console_url` textbox every dashboard has; the link bar carries it to the other dashboards. */
export function consoleUrlVariable(): dashboard.TextBoxVariableBuilder {
  return new dashboard.TextBoxVariableBuilder(CONSOLE_URL_VARIABLE)
    .label("Overseer console URL")
    .description(
      "Base URL of the Overseer operator console (the daemon's /ui), without a trailing slash. Panel links open agents, roles, task types and pipeline templates there.",
    )
    .defaultValue(CONSOLE_URL_DEFAULT)
    .current({ text: CONSOLE_URL_DEFAULT, value: CONSOLE_URL_DEFAULT })
    .options([{ selected: true, text: CONSOLE_URL_DEFAULT, value: CONSOLE_URL_DEFAULT }]);
}
