import type { Static } from "typebox";
import type { AgentsStatusReply } from "../../../contract/schemas/dashboard.ts";
import type {
  AttemptOutcome,
  TaskListReply as TaskListReplySchema,
  TaskSummary as TaskSummarySchema,
  TaskView as TaskViewSchema,
  TaskViewState,
} from "../../../contract/schemas/tasks.ts";
import { api } from "../api.ts";
import { badge, h, link, table } from "../dom.ts";
import { ago, count, short, time } from "../format.ts";

/** What the task pages share: the API's task shapes, what each state means, and the task table. */

export type TaskView = Static<typeof TaskViewSchema>;
export type TaskSummary = Static<typeof TaskSummarySchema>;
export type TaskListReply = Static<typeof TaskListReplySchema>;

/** Every state a task read can show, in plain words (a Record, so a new state fails the type check). */
export const TASK_STATE_HELP: Record<TaskViewState, string> = {
  queued: "waiting for an agent: ready now, or delayed until its next attempt after a failure",
  active: "an agent holds its lease and is working on it",
  completed: "an agent finished it; the result is kept",
  failed: "ended: the agent said retrying cannot help (an operator may retry it)",
  dead: "ended: every allowed attempt failed (dead letter; an operator may retry it)",
  cancelled: "ended: cancelled by an operator or by its pipeline",
  archived: "parked by a clear_task_queue override; undoing the override queues it again",
};
export const TASK_STATES = Object.keys(TASK_STATE_HELP) as TaskViewState[];

/** How an attempt (one lease) ended, in words. */
export const OUTCOME_WORDS: Record<AttemptOutcome, string> = {
  completed: "completed",
  failed: "failed",
  timed_out: "timed out",
  lost: "lost",
  released: "released",
  cancelled: "cancelled",
};

/** A count with its unit: "1 attempt", "12 attempts". */
export function plural(n: number, unit: string): string {
  return `${count(n)} ${n === 1 ? unit : `${unit}s`}`;
}
export const nTasks = (n: number): string => plural(n, "task");

/** Agent names by id, for tables that would otherwise show bare ids (null when they cannot be read). */
export async function agentNames(): Promise<Map<string, string> | null> {
  try {
    const reply = await api.get<AgentsStatusReply>("/api/dashboard/agents/status", {
      includeEnded: "true",
      limit: 99_999,
    });
    return new Map(reply.agents.map((a) => [a.id, a.name]));
  } catch {
    return null;
  }
}

/** A link to an agent's page, by name when known. */
export function agentLink(id: string | null, names: Map<string, string> | null): HTMLElement | string {
  if (!id) return "—";
  const name = names?.get(id);
  return h(
    "span",
    null,
    link(`#/agents/${id}`, name ?? short(id)),
    name ? null : h("span", { class: "help", title: id }, " (id)"),
  );
}

/** The task list's table: one row a task, linked to its page. */
export function taskTable(
  tasks: readonly TaskSummary[],
  names: Map<string, string> | null,
  empty: string,
): HTMLElement {
  return table(
    tasks,
    [
      {
        head: "Task",
        cell: (t) => h("span", { class: "mono", title: t.id }, link(`#/tasks/${t.id}`, short(t.id))),
      },
      { head: "Type", cell: (t) => t.type },
      { head: "State", cell: (t) => h("span", { title: TASK_STATE_HELP[t.state] }, badge(t.state)) },
      { head: "Priority", cell: (t) => String(t.priority), num: true },
      { head: "Attempts (leases)", cell: (t) => String(t.attempts), num: true },
      { head: "Failed attempts", cell: (t) => String(t.failures), num: true },
      { head: "Held by", cell: (t) => agentLink(t.leaseAgentId, names) },
      { head: "Created", cell: (t) => h("span", { title: time(t.createdAt) }, ago(t.createdAt)) },
      {
        head: "Finished",
        cell: (t) => (t.finishedAt ? h("span", { title: time(t.finishedAt) }, ago(t.finishedAt)) : "not yet"),
      },
    ],
    empty,
  );
}
