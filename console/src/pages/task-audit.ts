import type { AuditEntry, AuditPage } from "../../../contract/schemas/audit.ts";
import type { ConsoleSession } from "../../../contract/schemas/console.ts";
import { api, may } from "../api.ts";
import { errorBox, h, json, link, table } from "../dom.ts";
import { ago, count, short, time } from "../format.ts";
import { hrefOf } from "../router.ts";

/** The audit log's table, shared by the audit page and the task and agent pages' trails. */

/** Where a target kind is shown in the console (audit target kinds: task, agent, pipeline_run, …). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function targetHref(kind: string, id: string): string | null {
  const uuid = UUID.test(id);
  const enc = encodeURIComponent(id);
  if (kind === "task" && uuid) return `#/tasks/${enc}`;
  if (kind === "agent" && uuid) return `#/agents/${enc}`;
  if ((kind === "pipeline_run" || kind === "run") && uuid) return `#/runs/${enc}`;
  if (kind === "task_type") return hrefOf("/tasks", { type: id });
  if (kind === "agent_name") return hrefOf("/fleet", { q: id });
  if (kind === "override") return "#/overrides";
  return null;
}

export function targetCell(e: AuditEntry): HTMLElement {
  const href = targetHref(e.targetKind, e.targetId);
  const label = `${e.targetKind} ${UUID.test(e.targetId) ? short(e.targetId) : e.targetId}`;
  return h("span", { title: `${e.targetKind} ${e.targetId}` }, href ? link(href, label) : label);
}

/** Impact and data, folded: they vary by action and can be long. */
export function detailsCell(e: AuditEntry): HTMLElement | string {
  if ((e.impact === null || e.impact === undefined) && (e.data === null || e.data === undefined)) return "—";
  return h(
    "details",
    null,
    h("summary", null, "Impact and data"),
    e.impact === null || e.impact === undefined
      ? null
      : [h("div", { class: "help" }, "Impact"), json(e.impact)],
    e.data === null || e.data === undefined ? null : [h("div", { class: "help" }, "Data"), json(e.data)],
  );
}

export function auditTable(entries: readonly AuditEntry[], empty: string, showTarget = true): HTMLElement {
  return table(
    entries,
    [
      { head: "#", cell: (e) => e.id, num: true },
      { head: "When", cell: (e) => h("span", { title: ago(e.at) }, time(e.at)) },
      { head: "Who", cell: (e) => link(hrefOf("/audit", { actor: e.actor }), e.actor) },
      { head: "Action", cell: (e) => link(hrefOf("/audit", { action: e.action }), e.action) },
      ...(showTarget ? [{ head: "Target", cell: targetCell }] : []),
      { head: "Reason", cell: (e) => e.reason ?? h("span", { class: "help" }, "none given") },
      {
        head: "Request id",
        cell: (e) =>
          e.requestId ? h("span", { class: "mono", title: e.requestId }, short(e.requestId)) : "—",
      },
      { head: "Details", cell: detailsCell },
    ],
    empty,
  );
}

/** The audit entries about one target (operator and up; a viewer is told why there are none). */
export async function auditTrail(session: ConsoleSession, targetId: string): Promise<HTMLElement> {
  if (!may(session, "operator")) {
    return h(
      "p",
      { class: "help" },
      `The audit log needs the operator role; you are signed in as ${session.role}.`,
    );
  }
  try {
    const page = await api.get<AuditPage>("/api/audit", { targetId, limit: 50 });
    return h(
      "div",
      null,
      auditTable(page.entries, "No audit entries: no operator has acted on it.", false),
      page.total > page.entries.length
        ? h(
            "p",
            { class: "help" },
            `Showing the newest ${count(page.entries.length)} of ${count(page.total)} entries. `,
            link(hrefOf("/audit", { targetId }), "All in the audit log →"),
          )
        : null,
    );
  } catch (e) {
    return errorBox(e);
  }
}
