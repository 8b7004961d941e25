import type { Static } from "typebox";
import type {
  OverrideAction,
  OverrideListReply as OverrideListSchema,
  OverrideReply,
  OverrideView,
} from "../../../contract/schemas/overrides.ts";
import { type ActionSpec, actionBar, actionButton } from "../actions.ts";
import { api, may } from "../api.ts";
import { badge, errorBox, fill, h, json, table } from "../dom.ts";
import { ago, duration, time } from "../format.ts";
import type { Page, PageContext } from "../router.ts";
import { OVERRIDE_ACTIONS, OVERRIDE_HELP, OVERRIDE_STATE_HELP, overrideHelpTable } from "./override-help.ts";

type OverrideList = Static<typeof OverrideListSchema>;
const MAX_EXPIRY_MIN = 7 * 24 * 60;

/**
 * Emergency overrides: the list (`GET /api/dashboard/system/overrides`), a new override through its
 * dry run and confirmation (`POST /api/dashboard/system/emergency-override`), and undo (admin).
 */
export const overridesPage: Page = {
  pattern: "/overrides",
  title: "Overrides",
  nav: "Overrides",
  async render(ctx: PageContext) {
    const list = h("section", { "aria-label": "Overrides" }, h("p", null, "Loading…"));
    const inForce = h("div", { "aria-live": "polite" });
    fill(
      ctx.root,
      h("h1", null, "Emergency overrides"),
      h(
        "p",
        { class: "sub" },
        "Four levers for the whole namespace, for when everything else has failed. Only an admin may pull them. Each takes two steps: a dry run shows what would happen and changes nothing, then you confirm within 2 minutes. Every step is written to the audit log. Apart from the one-shot restart, an override stays in force until an admin undoes it or until its expiry, if you gave one.",
      ),
      inForce,
      h("details", { open: true }, h("summary", null, "What each override does"), overrideHelpTable()),
      may(ctx.session, "admin")
        ? actionBar(ctx.session, [newOverride(ctx)])
        : h(
            "p",
            { class: "help" },
            `Only an admin may pull or undo an override; you are signed in as ${ctx.session.role}.`,
          ),
      h("h2", null, "Overrides, newest first"),
      list,
    );
    let reply: OverrideList;
    try {
      reply = await api.get<OverrideList>("/api/dashboard/system/overrides", { limit: 100 });
    } catch (e) {
      fill(list, errorBox(e));
      return;
    }
    const active = reply.overrides.filter((o) => o.state === "active");
    fill(
      inForce,
      active.length === 0
        ? h(
            "p",
            { class: "card" },
            badge("none in force", "ok"),
            " No override is in force: the system runs normally.",
          )
        : h(
            "div",
            { class: "card", role: "status" },
            h("strong", null, `▲ ${active.length} override${active.length === 1 ? "" : "s"} in force now:`),
            h(
              "ul",
              null,
              active.map((o) =>
                h("li", null, `${OVERRIDE_HELP[o.action].name}: ${OVERRIDE_HELP[o.action].does} `, expiry(o)),
              ),
            ),
          ),
    );
    fill(list, overrideTable(reply.overrides, ctx));
  },
};

function expiry(o: OverrideView): string {
  if (o.state !== "active") return o.expiresAt ? `Was to expire ${time(o.expiresAt)}.` : "";
  if (!o.expiresAt) return "No expiry: in force until an admin undoes it.";
  return `Expires ${time(o.expiresAt)} (in ${duration(Date.parse(o.expiresAt) - Date.now())}).`;
}

function overrideTable(rows: readonly OverrideView[], ctx: PageContext): HTMLElement {
  return table(
    rows,
    [
      { head: "Override", cell: (o) => h("span", { title: o.action }, OVERRIDE_HELP[o.action].name) },
      {
        head: "State",
        cell: (o) =>
          h(
            "span",
            { title: OVERRIDE_STATE_HELP[o.state] },
            badge(o.state, o.state === "active" ? "warn" : "idle"),
          ),
      },
      { head: "Started", cell: (o) => h("span", { title: ago(o.startedAt) }, time(o.startedAt)) },
      {
        head: "Expiry",
        cell: (o) =>
          o.expiresAt
            ? `${time(o.expiresAt)}${o.state === "active" ? ` (in ${duration(Date.parse(o.expiresAt) - Date.now())})` : ""}`
            : o.action === "restart_all_agents"
              ? "one shot"
              : "none (until undone)",
      },
      {
        head: "Ended",
        cell: (o) =>
          o.endedAt ? `${time(o.endedAt)} by ${o.endedBy ?? "—"}` : o.state === "active" ? "in force" : "—",
      },
      { head: "Started by", cell: (o) => o.actor },
      { head: "Reason", cell: (o) => o.reason },
      {
        head: "Impact",
        cell: (o) => h("details", null, h("summary", null, impactSummary(o)), json(o.impact)),
      },
      {
        head: "",
        cell: (o) =>
          o.state === "active" && o.action !== "restart_all_agents"
            ? actionButton(ctx.session, undo(o, ctx))
            : null,
      },
    ],
    "No overrides yet: none has ever been pulled in this namespace.",
  );
}

/** The impact's note (what the dry run predicted, in the daemon's words), else the word "details". */
function impactSummary(o: OverrideView): string {
  const note = o.impact.note;
  return typeof note === "string" && note.length > 0 ? note : "details";
}

function undo(o: OverrideView, ctx: PageContext): ActionSpec {
  return {
    label: "Undo",
    need: "admin",
    title: `Undo: ${OVERRIDE_HELP[o.action].name}`,
    explain: `Ends this override now, before its expiry. ${OVERRIDE_HELP[o.action].ends}`,
    reason: "required",
    run: (reason) => api.post(`/api/dashboard/system/overrides/${encodeURIComponent(o.id)}/undo`, { reason }),
    done: ctx.reload,
  };
}

function newOverride(ctx: PageContext): ActionSpec {
  const body = (reason: string, v: Record<string, string>) => {
    const minutes = v.expiry ?? "";
    const ms = minutes === "" ? undefined : Math.round(Number(minutes) * 60_000);
    if (ms !== undefined && (!Number.isFinite(ms) || ms < 1_000 || ms > MAX_EXPIRY_MIN * 60_000)) {
      throw new Error(
        `The expiry must be a number of minutes from 0.02 to ${MAX_EXPIRY_MIN} (a week), or empty.`,
      );
    }
    return { action: v.action, reason, ...(ms === undefined ? {} : { expiresInMs: ms }) };
  };
  return {
    label: "New emergency override",
    need: "admin",
    danger: true,
    title: "New emergency override",
    explain:
      'Pauses dispatch, restarts every agent, archives the queue or refuses new work, for the whole namespace (the table "What each override does" on the page explains each). Say why and, optionally, when it should end by itself. The dry run shows the impact and changes nothing; then confirm within 2 minutes with the same choices.',
    reason: "required",
    fields: [
      { name: "action", label: "Override", options: [...OVERRIDE_ACTIONS], value: "stop_all_tasks" },
      {
        name: "expiry",
        label: "Expires after, in minutes (empty: until an admin undoes it; not for restart_all_agents)",
        type: "number",
      },
    ],
    confirmLabel: (v) => OVERRIDE_HELP[v.action as OverrideAction]?.name ?? v.action ?? "override",
    dryRun: async (reason, v) => api.post("/api/dashboard/system/emergency-override", body(reason, v)),
    run: async (reason, v, dry) => {
      const d = dry?.data as OverrideReply | undefined;
      if (!d?.dryRun) throw new Error("Run the dry run first: confirming needs its confirmation token.");
      if (d.action !== v.action)
        throw new Error(`The dry run was for ${d.action}: run the dry run again for ${v.action}.`);
      return api.post("/api/dashboard/system/emergency-override", {
        ...body(reason, v),
        confirmationToken: d.confirmationToken,
      });
    },
    done: ctx.reload,
  };
}
