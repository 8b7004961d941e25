import type { Static } from "typebox";
import type {
  ScheduleList as ScheduleListSchema,
  ScheduleWithTicks as ScheduleSchema,
} from "../../../contract/schemas/schedules.ts";
import { type ActionSpec, actionBar } from "../actions.ts";
import { api } from "../api.ts";
import { badge, errorBox, fill, h, json, kv, link, table } from "../dom.ts";
import { ago, duration, short, time } from "../format.ts";
import type { Page, PageContext } from "../router.ts";
import { choice, drawIfChanged, liveRefresh, section } from "./run-common.ts";

type ScheduleList = Static<typeof ScheduleListSchema>;
type Schedule = Static<typeof ScheduleSchema>;
type ScheduleView = ScheduleList["schedules"][number];

/** SCHEDULE_STATES of contract/schemas/schedules.ts; `done` is a one-off that has fired. */
const STATES = ["active", "paused", "done"];

/**
 * Schedules of pipeline runs: reads `GET /api/schedules` (by state) and, for the one selected,
 * `GET /api/schedules/:id` (its next run and latest 20 ticks); pause, resume and delete it. Live on
 * `schedule.*` events.
 */
export const schedulesPage: Page = {
  pattern: "/schedules",
  title: "Schedules",
  nav: "Schedules",
  async render(ctx: PageContext) {
    const state = ctx.query.get("state") ?? "";
    const id = ctx.query.get("id") ?? "";
    const states = [["", "any"], ...STATES.map((x) => [x, x])] as Array<[string, string]>;
    const filters = choice(ctx, "State", "state", states, state, { id: id || undefined });
    const detail = h("div");
    const list = h("div", null, "Loading…");
    const status = h("p", { class: "live", "aria-live": "off" });
    fill(
      ctx.root,
      h("h1", null, "Schedules"),
      h(
        "p",
        { class: "sub" },
        "Recurring (cron) and one-off runs of pipeline templates. Times are UTC; a cron expression is read in its own time zone. Select a schedule to see its latest ticks and act on it.",
      ),
      detail,
      section("All schedules", filters, list),
      status,
    );

    const load = async () => {
      const [all, one] = await Promise.all([
        api.get<ScheduleList>("/api/schedules", { state: state || undefined }),
        id
          ? api
              .get<Schedule>(`/api/schedules/${id}`)
              .catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))))
          : null,
      ]);
      const now = Date.now();
      drawIfChanged(list, all, () =>
        fill(
          list,
          table(
            all.schedules,
            [
              { head: "Name", cell: (s) => link(select(state, s.id), s.name) },
              {
                head: "Template",
                cell: (s) => link(`#/runs?template=${encodeURIComponent(s.template)}`, s.template),
              },
              { head: "When", cell: when },
              { head: "State", cell: (s) => badge(s.state) },
              { head: "Next run", cell: (s) => next(s, now) },
              { head: "Last tick", cell: (s) => ago(s.lastTickAt) },
            ],
            state
              ? `No ${state} schedules.`
              : "No schedules. An operator creates one with POST /api/schedules (docs/schedules.md).",
          ),
        ),
      );
      if (!one) return fill(detail);
      if (one instanceof Error)
        return fill(detail, h("section", { class: "card" }, errorBox(one), link(select(state, ""), "Close")));
      fill(detail, drawDetail(ctx, one, state, now));
    };

    try {
      await load();
    } catch (e) {
      fill(list, errorBox(e));
      return;
    }
    liveRefresh(ctx, (e) => e.type.startsWith("schedule."), load, status);
  },
};

function select(state: string, id: string): string {
  const q = new URLSearchParams();
  if (state) q.set("state", state);
  if (id) q.set("id", id);
  const s = q.toString();
  return `#/schedules${s ? `?${s}` : ""}`;
}

function when(s: ScheduleView): HTMLElement {
  if (s.kind === "cron") {
    const fields = (s.cron ?? "").trim().split(/\s+/).length;
    const form = fields === 6 ? "seconds minute hour day month weekday" : "minute hour day month weekday";
    return h(
      "span",
      null,
      "recurring: ",
      h("code", null, s.cron ?? "?"),
      h("div", { class: "help" }, `cron (${form}), read in ${s.timezone}`),
    );
  }
  return h("span", null, `once, at ${time(s.runAt)}`);
}

function next(s: ScheduleView, now: number): HTMLElement | string {
  if (s.state === "paused") return h("span", { class: "help" }, "none while paused");
  if (!s.nextRunAt) return s.state === "done" ? "none (fired)" : "—";
  const ms = Date.parse(s.nextRunAt) - now;
  return h(
    "span",
    null,
    time(s.nextRunAt),
    h("div", { class: "help" }, ms > 0 ? `in ${duration(ms)}` : "due now"),
  );
}

function drawDetail(ctx: PageContext, s: Schedule, state: string, now: number): HTMLElement {
  const path = `/api/schedules/${s.id}`;
  const specs: ActionSpec[] = [];
  if (s.state === "active") {
    specs.push({
      label: "Pause",
      need: "operator",
      title: `Pause schedule ${s.name}`,
      explain:
        "The schedule stops starting runs until someone resumes it; runs it already started go on. (POST /api/schedules/:id/pause)",
      reason: "optional",
      run: (reason) => api.post(`${path}/pause`, reason ? { reason } : {}),
      done: ctx.reload,
    });
  }
  if (s.state === "paused") {
    specs.push({
      label: "Resume",
      need: "operator",
      title: `Resume schedule ${s.name}`,
      explain:
        s.kind === "cron"
          ? "The schedule fires again from its next tick; ticks missed while paused are not caught up. (POST /api/schedules/:id/resume)"
          : "The one-off fires at its time, or at once if that time has passed. (POST /api/schedules/:id/resume)",
      reason: "optional",
      run: (reason) => api.post(`${path}/resume`, reason ? { reason } : {}),
      done: ctx.reload,
    });
  }
  specs.push({
    label: "Delete",
    need: "operator",
    danger: true,
    title: `Delete schedule ${s.name}`,
    explain:
      "Deletes the schedule and its ticks for good; the runs it started stay. The delete takes no reason. (DELETE /api/schedules/:id)",
    reason: "none",
    run: () => api.send("DELETE", path),
    // The schedule is gone: drop the selection (reloading would read it again and get a 404).
    done: () => ctx.setQuery({ state: state || undefined }),
  });
  return h(
    "section",
    { class: "card", "aria-label": `Schedule ${s.name}` },
    h("h2", null, `Schedule ${s.name} `, badge(s.state)),
    h("p", null, link(select(state, ""), "Close")),
    kv([
      [
        "Template",
        link(
          `#/runs?template=${encodeURIComponent(s.template)}`,
          `${s.template} (its latest version at each tick)`,
        ),
      ],
      ["When", when(s)],
      ["Next run", next(s, now)],
      ["Last tick", s.lastTickAt ? `${time(s.lastTickAt)} (${ago(s.lastTickAt)})` : "never"],
      ["Input", h("details", null, h("summary", null, "show"), json(s.input))],
      ["Created", time(s.createdAt)],
      ["Changed", time(s.updatedAt)],
    ]),
    actionBar(ctx.session, specs),
    h("h3", null, "Latest ticks (at most 20, newest first)"),
    table(
      s.ticks,
      [
        { head: "Due at", cell: (t) => time(t.tickAt) },
        { head: "Fired at", cell: (t) => time(t.firedAt) },
        { head: "Late by", cell: (t) => duration(Date.parse(t.firedAt) - Date.parse(t.tickAt)), num: true },
        {
          head: "Run started",
          cell: (t) =>
            t.runId
              ? link(`#/runs/${t.runId}`, h("span", { class: "mono" }, short(t.runId)))
              : h("span", { class: "help" }, "none: the input did not fit the template then"),
        },
      ],
      "This schedule has not fired yet.",
    ),
  );
}
