import type { QueueStat, QueueState, TaskQueueReply } from "../../../contract/schemas/dashboard.ts";
import type { TaskViewState } from "../../../contract/schemas/tasks.ts";
import { api } from "../api.ts";
import { anyOf, errorBox, fill, formQuery, h, link, table, tile } from "../dom.ts";
import { openFeed } from "../feed.ts";
import { count, duration } from "../format.ts";
import { grafanaLink } from "../grafana.ts";
import { hrefOf, type Page, type PageContext } from "../router.ts";
import { overridesInForce } from "./override-help.ts";
import {
  agentNames,
  nTasks,
  TASK_STATE_HELP,
  TASK_STATES,
  type TaskListReply,
  taskTable,
} from "./task-shared.ts";

const PAGE_SIZE = 50;
/** Task events come in bursts; the queue summary is read again at most once a second. */
const DEBOUNCE_MS = 1_000;

/** Where a queue state lands in the task list: ready and delayed are both the API's `queued`. */
const QUEUE_COLUMNS: Array<{
  state: QueueState;
  head: string;
  api: TaskViewState;
  help: string;
  age: string | null;
}> = [
  { state: "ready", head: "Ready", api: "queued", help: "ready: claimable now", age: "longest waiting" },
  { state: "delayed", head: "Delayed", api: "queued", help: "delayed: waiting to retry", age: null },
  {
    state: "active",
    head: "Active",
    api: "active",
    help: "active: held by an agent",
    age: "longest running",
  },
  { state: "failed", head: "Failed", api: "failed", help: "failed: not retryable", age: "oldest ended" },
  { state: "dead", head: "Dead", api: "dead", help: "dead: out of attempts", age: "oldest ended" },
];

/**
 * Tasks: the queues now (`GET /api/dashboard/tasks/queue`, read again on the tasks feed's events) and
 * the task list (`GET /api/tasks`, filtered by state, type, agent and run, paged newest first).
 */
export const tasksPage: Page = {
  pattern: "/tasks",
  title: "Tasks",
  nav: "Tasks",
  async render(ctx: PageContext) {
    const f = {
      state: ctx.query.get("state") ?? "",
      type: ctx.query.get("type") ?? "",
      agentId: ctx.query.get("agentId") ?? "",
      runId: ctx.query.get("runId") ?? "",
    };
    const before = ctx.query.get("before") ?? "";
    const summary = h("section", { "aria-label": "Queues now" }, h("p", null, "Loading the queues…"));
    const notice = h("div");
    const live = h("p", { class: "live", "aria-live": "off" }, "Connecting to live task events…");
    const list = h("section", { "aria-label": "Task list" }, h("p", null, "Loading tasks…"));

    fill(
      ctx.root,
      h("h1", null, "Tasks"),
      h(
        "p",
        { class: "sub" },
        "Work waiting for, held by, or finished by agents. Pick a task to see its attempts and act on it. ",
        grafanaLink(ctx.session, "tasks", "Tasks dashboard", { type: f.type || undefined }),
      ),
      h("h2", null, "Queues now"),
      notice,
      summary,
      live,
      h("h2", null, "Task list"),
      filters(ctx, f),
      list,
    );

    const loadSummary = async () => {
      try {
        const [q, held] = await Promise.all([
          api.get<TaskQueueReply>("/api/dashboard/tasks/queue", { type: f.type || undefined }),
          overridesInForce(),
        ]);
        fill(notice, held);
        fill(summary, queues(q, f.type));
      } catch (e) {
        fill(summary, errorBox(e));
      }
    };
    await Promise.all([loadSummary(), loadList(list, ctx, f, before)]);

    let timer: number | undefined;
    const feed = openFeed(
      "tasks",
      (m) => {
        if (m.type !== "event" || !m.event?.type.startsWith("task.")) return;
        if (timer !== undefined) return;
        timer = window.setTimeout(() => {
          timer = undefined;
          void loadSummary().then(() => {
            live.textContent = `Queues live: last updated ${new Date().toLocaleTimeString()} after task events. The list below is not live: press Filter to read it again.`;
          });
        }, DEBOUNCE_MS);
      },
      (s, detail) => {
        live.dataset.feed = s;
        if (s === "live")
          live.textContent = "Queues live: they update as tasks change. The list below is read once.";
        else live.textContent = `Live updates ${s}${detail ? `: ${detail}` : ""}`;
      },
    );
    ctx.onLeave(() => {
      if (timer !== undefined) clearTimeout(timer);
      feed.close();
    });
  },
};

type Filters = { state: string; type: string; agentId: string; runId: string };

function filters(ctx: PageContext, f: Filters): HTMLElement {
  const form = h(
    "form",
    { class: "filters", role: "search" },
    h("label", null, "State", anyOf("state", TASK_STATES, f.state, TASK_STATE_HELP)),
    h("label", null, "Type", h("input", { name: "type", value: f.type, placeholder: "e.g. code.review" })),
    h("label", null, "Agent id (held a lease)", h("input", { name: "agentId", value: f.agentId, size: 36 })),
    h("label", null, "Pipeline run id", h("input", { name: "runId", value: f.runId, size: 36 })),
    h("button", { type: "submit", class: "primary" }, "Filter"),
    h("a", { href: "#/tasks" }, "Clear filters"),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    ctx.setQuery(formQuery(form));
  });
  return form;
}

async function loadList(into: HTMLElement, ctx: PageContext, f: Filters, before: string): Promise<void> {
  let reply: TaskListReply;
  try {
    reply = await api.get<TaskListReply>("/api/tasks", {
      ...f,
      before: before || undefined,
      limit: PAGE_SIZE,
    });
  } catch (e) {
    fill(into, errorBox(e));
    return;
  }
  const names = reply.tasks.some((t) => t.leaseAgentId) ? await agentNames() : null;
  const filtered = Object.values(f).some(Boolean);
  const older = reply.nextBefore;
  fill(
    into,
    h(
      "p",
      { class: "help" },
      `${count(reply.total)} tasks ${filtered ? "match these filters" : "in all"}, newest first; this page shows ${count(reply.tasks.length)}${before ? " older ones" : ""}.`,
      f.state ? ` State ${f.state}: ${TASK_STATE_HELP[f.state as TaskViewState] ?? "unknown state"}.` : null,
    ),
    taskTable(reply.tasks, names, filtered ? "No tasks match." : "No tasks yet."),
    h(
      "div",
      { class: "actions" },
      before ? link(hrefOf("/tasks", f), "← Newest") : null,
      older
        ? h("button", { type: "button", onclick: () => ctx.setQuery({ ...f, before: older }) }, "Older →")
        : reply.tasks.length > 0
          ? h("span", { class: "help" }, "No older tasks.")
          : null,
    ),
  );
}

/** Tiles of the totals by queue state, then one row a task type; each count opens the matching list. */
function queues(q: TaskQueueReply, type: string): HTMLElement {
  const byType = new Map<string, Map<QueueState, QueueStat>>();
  for (const s of q.queues) {
    const row = byType.get(s.type) ?? new Map<QueueState, QueueStat>();
    row.set(s.state, s);
    byType.set(s.type, row);
  }
  const rows = [...byType.entries()].sort(([a], [b]) => a.localeCompare(b));
  const cell = (t: string, c: (typeof QUEUE_COLUMNS)[number], s: QueueStat | undefined) =>
    s && s.count > 0
      ? h(
          "span",
          null,
          link(hrefOf("/tasks", { type: t, state: c.api }), nTasks(s.count)),
          c.age ? h("br") : null,
          c.age ? h("span", { class: "help" }, `${c.age} ${duration(s.oldestAgeSeconds * 1_000)}`) : null,
        )
      : "0";
  return h(
    "div",
    null,
    h(
      "div",
      { class: "tiles" },
      QUEUE_COLUMNS.map((c) =>
        h(
          "a",
          { href: hrefOf("/tasks", { type: type || undefined, state: c.api }), class: "tile-link" },
          tile(c.help, nTasks(q.totals[c.state] ?? 0)),
        ),
      ),
    ),
    h(
      "details",
      { open: rows.length <= 15 },
      h("summary", null, `By task type (${count(rows.length)} ${rows.length === 1 ? "type" : "types"})`),
      table(
        rows,
        [
          { head: "Type", cell: ([t]) => link(hrefOf("/tasks", { type: t }), t) },
          ...QUEUE_COLUMNS.map((c) => ({
            head: c.head,
            cell: ([t, r]: [string, Map<QueueState, QueueStat>]) => cell(t, c, r.get(c.state)),
            num: true,
          })),
        ],
        type ? `No unfinished tasks of type ${type}.` : "No unfinished tasks: every queue is empty.",
      ),
    ),
    h(
      "p",
      { class: "help" },
      `Read ${new Date(q.generatedAt).toLocaleTimeString()}. Ready and delayed tasks are both in the API state "queued"; their links open the queued list. Ages: how long the oldest ready task has waited, the longest active one has run, the oldest failed or dead one has been ended. Failed and dead tasks stay here until retried.`,
    ),
  );
}
