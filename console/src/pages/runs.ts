import { api } from "../api.ts";
import { anyOf, badge, errorBox, fill, formQuery, h, link, table } from "../dom.ts";
import { count, duration, short, time } from "../format.ts";
import { grafanaLink } from "../grafana.ts";
import type { Page, PageContext } from "../router.ts";
import {
  elapsedOf,
  eta,
  fromUtcInput,
  liveRefresh,
  progress,
  RUN_STATES,
  type RunList,
  type RunSummary,
  type RunView,
  TERMINAL,
  type TemplateList,
  utcInput,
} from "./run-common.ts";

const PAGE_SIZE = 25;

/**
 * Pipeline runs, newest first: reads `GET /api/pipelines/runs` (template, state, created from/to,
 * limit, offset), `GET /api/pipelines/runs/:id` of each unfinished run shown (current step, ETA) and
 * `GET /api/pipelines/templates` for the filter; refreshed live on `pipeline.*` events.
 */
export const runsPage: Page = {
  pattern: "/runs",
  title: "Runs",
  nav: "Runs",
  async render(ctx: PageContext) {
    const template = ctx.query.get("template") ?? "";
    const state = ctx.query.get("state") ?? "";
    const from = ctx.query.get("from") ?? "";
    const to = ctx.query.get("to") ?? "";
    const offset = Math.max(0, Number(ctx.query.get("offset") ?? 0) || 0);
    const filtered = Boolean(template || state || from || to);

    const templates = h("datalist", { id: "run-templates" });
    const filters = h(
      "form",
      { class: "filters", role: "search", "aria-label": "Filter runs" },
      h("label", null, "Template", h("input", { name: "template", value: template, list: "run-templates" })),
      h("label", null, "State", anyOf("state", RUN_STATES, state)),
      h(
        "label",
        null,
        "Created from (UTC)",
        h("input", { name: "from", type: "datetime-local", value: utcInput(from) }),
      ),
      h(
        "label",
        null,
        "Created before (UTC)",
        h("input", { name: "to", type: "datetime-local", value: utcInput(to) }),
      ),
      h("button", { type: "submit", class: "primary" }, "Filter"),
      filtered ? h("a", { href: "#/runs" }, "Clear filters") : null,
      templates,
    );
    const problem = h("div", { "aria-live": "polite" });
    filters.addEventListener("submit", (e) => {
      e.preventDefault();
      const f = formQuery(filters);
      try {
        ctx.setQuery({ ...f, from: fromUtcInput(f.from ?? ""), to: fromUtcInput(f.to ?? "") });
      } catch (err) {
        fill(problem, errorBox(err));
      }
    });

    const summary = h("p", { class: "help", "aria-live": "polite" }, "Loading…");
    const list = h("div");
    const pager = h("div", { class: "actions" });
    const status = h("p", { class: "live", "aria-live": "off" });
    const range =
      from || to ? { from: from ? Date.parse(from) : "now-7d", to: to ? Date.parse(to) : "now" } : undefined;
    fill(
      ctx.root,
      h("h1", null, "Runs"),
      h(
        "p",
        { class: "sub" },
        "Pipeline runs, newest first. Percent is the weighted share of finished steps plus running steps' own progress; " +
          "the ETA is the daemon's estimate. Open a run to act on it. ",
        grafanaLink(
          ctx.session,
          "pipelines",
          "Pipelines dashboard",
          { template: template || undefined },
          range,
        ),
      ),
      filters,
      problem,
      summary,
      list,
      pager,
      status,
    );

    void api
      .get<TemplateList>("/api/pipelines/templates")
      .then((t) =>
        fill(
          templates,
          t.templates.map((x) => h("option", { value: x.name })),
        ),
      )
      .catch(() => undefined);

    const load = async () => {
      const reply = await api.get<RunList>("/api/pipelines/runs", {
        template: template || undefined,
        state: state || undefined,
        from: from || undefined,
        to: to || undefined,
        limit: PAGE_SIZE,
        offset,
      });
      const views = await unfinishedViews(reply.runs);
      const now = Date.now();
      fill(
        list,
        table(
          reply.runs,
          [
            { head: "Run", cell: (r) => link(`#/runs/${r.id}`, h("span", { class: "mono" }, short(r.id))) },
            { head: "Template", cell: (r) => `${r.template} v${r.templateVersion}` },
            { head: "State", cell: (r) => [badge(r.state), r.escalated ? [" ", badge("escalated")] : null] },
            { head: "Progress", cell: (r) => progress(r.percent) },
            { head: "Current step", cell: (r) => currentStep(r, views.get(r.id)) },
            {
              head: "Elapsed",
              cell: (r) => duration(viewOf(views, r)?.elapsedMs ?? elapsedOf(r, now)),
              num: true,
            },
            { head: "ETA", cell: (r) => etaCell(r, views.get(r.id)) },
            { head: "Created", cell: (r) => time(r.createdAt) },
            { head: "Priority (0–1000)", cell: (r) => String(r.priority), num: true },
          ],
          filtered ? "No runs match. Clear or widen the filters." : "No runs yet.",
        ),
      );
      const last = Math.min(reply.offset + reply.runs.length, reply.total);
      summary.textContent =
        reply.runs.length === 0
          ? `${count(reply.total)} runs match.`
          : `Runs ${count(reply.offset + 1)}–${count(last)} of ${count(reply.total)} matching, newest first.`;
      fill(
        pager,
        offset > 0
          ? h(
              "button",
              { type: "button", onclick: () => page(ctx, Math.max(0, offset - PAGE_SIZE)) },
              "← Newer runs",
            )
          : null,
        last < reply.total
          ? h("button", { type: "button", onclick: () => page(ctx, offset + PAGE_SIZE) }, "Older runs →")
          : null,
      );
    };

    try {
      await load();
    } catch (e) {
      fill(list, errorBox(e));
      summary.textContent = "";
      return;
    }
    liveRefresh(ctx, (e) => e.type.startsWith("pipeline."), load, status);
  },
};

function page(ctx: PageContext, offset: number): void {
  const q: Record<string, string | undefined> = Object.fromEntries(ctx.query.entries());
  ctx.setQuery({ ...q, offset: offset > 0 ? String(offset) : undefined });
}

/** The run view of each unfinished run shown: the list has no current step or ETA (six reads at a time). */
async function unfinishedViews(runs: RunSummary[]): Promise<Map<string, RunView | Error>> {
  const out = new Map<string, RunView | Error>();
  const todo = runs.filter((r) => !TERMINAL.includes(r.state));
  for (let i = 0; i < todo.length; i += 6) {
    await Promise.all(
      todo.slice(i, i + 6).map(async (r) => {
        try {
          out.set(r.id, await api.get<RunView>(`/api/pipelines/runs/${r.id}`));
        } catch (e) {
          out.set(r.id, e instanceof Error ? e : new Error(String(e)));
        }
      }),
    );
  }
  return out;
}

function viewOf(views: Map<string, RunView | Error>, r: RunSummary): RunView | undefined {
  const v = views.get(r.id);
  return v instanceof Error ? undefined : v;
}

function currentStep(r: RunSummary, v: RunView | Error | undefined): HTMLElement | string {
  if (TERMINAL.includes(r.state)) return "—";
  if (v instanceof Error) return h("span", { class: "help" }, `unread: ${v.message}`);
  if (!v?.currentStep) return h("span", { class: "help" }, "none running");
  return h(
    "span",
    null,
    v.currentStep.name,
    v.currentStep.message ? h("span", { class: "help" }, ` · ${v.currentStep.message}`) : null,
  );
}

function etaCell(r: RunSummary, v: RunView | Error | undefined): HTMLElement | string {
  if (TERMINAL.includes(r.state)) return r.state === "completed" ? "done" : "ended";
  if (!v || v instanceof Error) return "—";
  return eta(v, true);
}
