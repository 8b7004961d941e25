import { may } from "../api.ts";
import { badge, h, json, link, table } from "../dom.ts";
import { duration, short, time } from "../format.ts";
import type { PageContext } from "../router.ts";
import { stepActions } from "./run-actions.ts";
import { progress, type RunEvent, type RunView, type StepView, type WorkflowDetails } from "./run-common.ts";

/** The run page's steps table, timeline and operator actions taken. */

export function stepsTable(ctx: PageContext, run: RunView, waiting: Set<string>): HTMLElement {
  const act = may(ctx.session, "operator");
  return table(
    run.steps,
    [
      {
        head: "Step",
        cell: (s) => [
          s.name,
          h("div", { class: "mono help" }, s.generation > 0 ? `${s.id} · retry ${s.generation}` : s.id),
        ],
      },
      {
        head: "Runs on",
        cell: (s) =>
          s.executor.kind === "agent" ? `agent: ${s.executor.capability}` : `daemon: ${s.executor.name}`,
      },
      {
        head: "State",
        cell: (s) => [
          badge(s.state),
          waiting.has(s.id)
            ? [" ", badge("waiting"), h("div", { class: "help" }, "for a budget approval")]
            : null,
        ],
      },
      { head: "Progress", cell: (s) => (s.state === "pending" ? "—" : progress(s.progress)) },
      { head: "Attempts", cell: (s) => String(s.attempts), num: true },
      {
        head: "Agent",
        cell: (s) =>
          s.agentId ? link(`#/agents/${s.agentId}`, h("span", { class: "mono" }, short(s.agentId))) : "—",
      },
      {
        head: "Task",
        cell: (s) =>
          s.taskId ? link(`#/tasks/${s.taskId}`, h("span", { class: "mono" }, short(s.taskId))) : "—",
      },
      { head: "Started", cell: (s) => time(s.startedAt) },
      { head: "Took", cell: (s) => duration(s.durationMs), num: true },
      { head: "Message or error", cell: stepNote },
      ...(act
        ? [{ head: "Actions", cell: (s: StepView) => stepActions(ctx, run, s, waiting.has(s.id)) ?? "—" }]
        : []),
    ],
    "This run has no steps.",
  );
}

function stepNote(s: StepView): HTMLElement | string {
  if (s.skipReason) return `skipped: ${s.skipReason}`;
  const err = messageIn(s.error);
  if (err) return h("span", { class: "s-bad" }, err);
  return s.message ?? "—";
}

function messageIn(error: unknown): string | null {
  if (error === null || error === undefined) return null;
  if (typeof error === "object" && "message" in error && typeof error.message === "string")
    return error.message;
  return JSON.stringify(error);
}

/** The durable timeline, oldest first, each entry in words with its data. */
export function timeline(run: RunView): HTMLElement {
  if (run.events.length === 0) return h("p", { class: "empty" }, "No events recorded for this run.");
  const names = new Map(run.steps.map((s) => [s.id, s.name]));
  const start = Date.parse(run.createdAt);
  const events = [...run.events].sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.id - b.id);
  return h(
    "div",
    null,
    run.events.length >= 200
      ? h("p", { class: "help" }, "The run view carries its latest 200 events; earlier ones are not shown.")
      : null,
    h(
      "ol",
      { class: "timeline" },
      events.map((e) =>
        h(
          "li",
          null,
          h("span", { class: "help" }, `${time(e.at)} · +${duration(Date.parse(e.at) - start)} `),
          h("strong", null, describe(e, names)),
          " ",
          h("span", { class: "mono help" }, e.type),
          data(e.data),
        ),
      ),
    ),
  );
}

function describe(e: RunEvent, names: Map<string, string>): string {
  const step = e.stepId ? `Step ${names.get(e.stepId) ?? e.stepId}` : "";
  const d = (e.data ?? {}) as Record<string, unknown>;
  const took = typeof d.durationMs === "number" ? ` after ${duration(d.durationMs)}` : "";
  const [kind, what = ""] = e.type.split(/\.(.*)/s);
  switch (kind) {
    case "run":
      return `Run ${what}${took}${typeof d.reason === "string" ? `: ${d.reason}` : ""}`;
    case "step":
      if (what === "skipped") return `${step} skipped${typeof d.reason === "string" ? `: ${d.reason}` : ""}`;
      if (what === "waiting") return `${step} waits${typeof d.message === "string" ? `: ${d.message}` : ""}`;
      return `${step} ${what}${took}`;
    case "action":
      return `${typeof d.actor === "string" ? d.actor : "An operator"}: ${what}${step ? ` (${step.toLowerCase()})` : ""}`;
    case "artifact":
      return `Artifact ${what}${step ? ` in ${step.toLowerCase()}` : ""}`;
    case "conversation":
      return `Conversation ${what}${step ? ` in ${step.toLowerCase()}` : ""}`;
    default:
      return step ? `${step}: ${e.type}` : e.type;
  }
}

/**
 * An event's data as words: `task d61c199d` (linked), `capability story.pm`; the duration is in the
 * sentence already; anything nested or long is folded away as JSON.
 */
function data(d: unknown): HTMLElement | null {
  if (!hasData(d)) return null;
  if (typeof d !== "object" || d === null || Array.isArray(d))
    return h("div", { class: "mono help" }, JSON.stringify(d));
  const entries = Object.entries(d as Record<string, unknown>).filter(([k]) => k !== "durationMs");
  const flat = entries.every(([, v]) => v === null || typeof v !== "object" || Array.isArray(v));
  if (!flat || JSON.stringify(d).length > 400) return h("details", null, h("summary", null, "data"), json(d));
  const parts = entries.map(([k, v]) => {
    const label = k
      .replace(/Id$/, "")
      .replace(/([a-z])([A-Z])/g, "$1 $2")
      .toLowerCase();
    if (k === "taskId" && typeof v === "string")
      return h("span", null, "task ", link(`#/tasks/${v}`, short(v)));
    const text = Array.isArray(v)
      ? v.length
        ? v.join(", ")
        : "none"
      : typeof v === "string" && k.endsWith("Id")
        ? short(v)
        : String(v);
    return h("span", null, `${label} ${text}`);
  });
  return parts.length
    ? h(
        "div",
        { class: "help" },
        parts.flatMap((p, i) => (i ? [" · ", p] : [p])),
      )
    : null;
}

function hasData(data: unknown): boolean {
  return data !== null && data !== undefined && !(typeof data === "object" && Object.keys(data).length === 0);
}

/** The operator actions taken on the run, from its audit entries. */
export function auditTable(audit: WorkflowDetails["audit"]): HTMLElement {
  return table(
    [...audit].sort((a, b) => Date.parse(a.at) - Date.parse(b.at)),
    [
      { head: "When", cell: (a) => time(a.at) },
      { head: "Who", cell: (a) => a.actor },
      { head: "Action", cell: (a) => h("span", { class: "mono" }, a.action) },
      { head: "Reason", cell: reasonOf },
      {
        head: "Details",
        cell: (a) => (hasData(a.data) ? h("details", null, h("summary", null, "data"), json(a.data)) : "—"),
      },
    ],
    "No operator has acted on this run.",
  );
}

/** A budget decision carries its reason as the decision's comment (in the entry's data). */
function reasonOf(a: WorkflowDetails["audit"][number]): HTMLElement | string {
  if (a.reason) return a.reason;
  const comment = (a.data as { comment?: unknown } | null)?.comment;
  if (typeof comment === "string") return `comment: ${comment}`;
  return h("span", { class: "help" }, "none given");
}
