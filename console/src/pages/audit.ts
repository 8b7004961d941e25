import type { AuditPage } from "../../../contract/schemas/audit.ts";
import { api, may } from "../api.ts";
import { errorBox, fill, formQuery, h, link } from "../dom.ts";
import { count } from "../format.ts";
import { hrefOf, type Page, type PageContext } from "../router.ts";
import { auditTable } from "./task-audit.ts";

const PAGE_SIZE = 50;
const FILTERS = [
  { name: "actor", label: "Who (actor)", placeholder: "e.g. admin" },
  { name: "action", label: "Action", placeholder: "e.g. task.retry" },
  { name: "targetKind", label: "Target kind", placeholder: "task, agent, override…" },
  { name: "targetId", label: "Target id", placeholder: "a task or agent id, …" },
] as const;

/** The audit log (`GET /api/audit`, operator): who did what to what, why, with what impact; filtered and paged. */
export const auditPage: Page = {
  pattern: "/audit",
  title: "Audit log",
  nav: "Audit",
  async render(ctx: PageContext) {
    const head = [
      h("h1", null, "Audit log"),
      h(
        "p",
        { class: "sub" },
        "Every operator action, newest first: who did it, to what, why, and what it touched. Entries are never edited; they are removed only after the retention period (OVERSEER_RETENTION_AUDIT, 365 days by default).",
      ),
    ];
    if (!may(ctx.session, "operator")) {
      fill(
        ctx.root,
        head,
        h(
          "p",
          { class: "error", role: "alert" },
          `The audit log needs the operator role; you are signed in as ${ctx.session.role}. Sign in with an operator or admin token to read it.`,
        ),
      );
      return;
    }
    const f: Record<string, string> = {};
    for (const { name } of FILTERS) f[name] = ctx.query.get(name) ?? "";
    const before = ctx.query.get("before") ?? "";
    const form = h(
      "form",
      { class: "filters", role: "search" },
      FILTERS.map((x) =>
        h("label", null, x.label, h("input", { name: x.name, value: f[x.name], placeholder: x.placeholder })),
      ),
      h("button", { type: "submit", class: "primary" }, "Filter"),
      h("a", { href: "#/audit" }, "Clear filters"),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      ctx.setQuery(formQuery(form));
    });
    const out = h("section", { "aria-label": "Audit entries" }, h("p", null, "Loading…"));
    fill(ctx.root, head, form, out);

    let page: AuditPage;
    try {
      page = await api.get<AuditPage>("/api/audit", { ...f, before: before || undefined, limit: PAGE_SIZE });
    } catch (e) {
      fill(out, errorBox(e));
      return;
    }
    const filtered = Object.values(f).some(Boolean);
    const older = page.nextBefore;
    fill(
      out,
      h(
        "p",
        { class: "help" },
        `${count(page.total)} entries ${filtered ? "match these filters" : "in all"}; this page shows ${count(page.entries.length)}${before ? " older ones" : ""}. Click a who or an action to narrow the list, a target to open its page; "Impact and data" shows what each action touched.`,
      ),
      auditTable(
        page.entries,
        filtered ? "No audit entries match." : "The audit log is empty: no operator has acted yet.",
      ),
      h(
        "div",
        { class: "actions" },
        before ? link(hrefOf("/audit", f), "← Newest") : null,
        older
          ? h("button", { type: "button", onclick: () => ctx.setQuery({ ...f, before: older }) }, "Older →")
          : page.entries.length > 0
            ? h("span", { class: "help" }, "No older entries.")
            : null,
      ),
    );
  },
};
