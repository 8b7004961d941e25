import type { Static } from "typebox";
import { FIGURES } from "../../../contract/figures.ts";
import type {
  DiagnosticsReply as DiagnosticsSchema,
  FailuresReply as FailuresSchema,
  SuccessRateReply as SuccessRateSchema,
} from "../../../contract/schemas/coordination.ts";
import type { HealReport } from "../../../contract/schemas/recovery.ts";
import { type ActionSpec, actionBar } from "../actions.ts";
import { api } from "../api.ts";
import { badge, fill, h, json, kv, link, table, tile } from "../dom.ts";
import { ago, count, duration, percent, short, time } from "../format.ts";
import type { Page, PageContext } from "../router.ts";
import { choice, definition, loading, more, section, show } from "./run-common.ts";

type SuccessRate = Static<typeof SuccessRateSchema>;
type SuccessWindow = SuccessRate["live"];
type Failures = Static<typeof FailuresSchema>;
type Diagnostics = Static<typeof DiagnosticsSchema>;

const FAILURE_WINDOWS = ["1h", "24h", "7d"];

/**
 * Coordination health: reads `GET /api/dashboard/coordination/success-rate` (attempt success rate by
 * window, with trends and hourly), `/failures` (failed attempts by class, with what to do) and
 * `/diagnostics`; offers the coordination reset (admin) and auto-heal (operator), each dry run first.
 */
export const coordinationPage: Page = {
  pattern: "/coordination",
  title: "Coordination",
  nav: "Coordination",
  async render(ctx: PageContext) {
    const win = FAILURE_WINDOWS.includes(ctx.query.get("window") ?? "")
      ? (ctx.query.get("window") as string)
      : "24h";
    const [rates, failures, diagnostics] = [loading(), loading(), loading()];
    const windows = FAILURE_WINDOWS.map((w): [string, string] => [w, w]);
    const picker = choice(ctx, "Failures in the last", "window", windows, win);
    fill(
      ctx.root,
      h("h1", null, "Coordination"),
      h(
        "p",
        { class: "sub" },
        "How well agents finish the work they claim, what fails and why, a deep check of queues, leases, agents, stores and loops, and the levers that repair coordination. ",
        h("button", { type: "button", onclick: ctx.reload }, "Read again"),
      ),
      section("Attempt success rate", rates),
      section(`Failures by class, last ${win}`, picker, failures),
      section("Diagnostics", diagnostics),
      section(
        "Levers",
        h(
          "p",
          { class: "help" },
          "Each shows its plan (a dry run: nothing changes) before you confirm; all are audited. Reset needs an admin.",
        ),
        levers(ctx),
      ),
    );
    await Promise.all([
      show(rates, api.get<SuccessRate>("/api/dashboard/coordination/success-rate"), drawRates),
      show(
        failures,
        api.get<Failures>("/api/dashboard/coordination/failures", { window: win }),
        drawFailures,
      ),
      show(diagnostics, api.get<Diagnostics>("/api/dashboard/coordination/diagnostics"), drawDiagnostics),
    ]);
  },
};

function drawRates(r: SuccessRate): HTMLElement {
  const rows: Array<[string, SuccessWindow]> = [
    ["last 5 minutes", r.live],
    ["last hour", r.windows["1h"]],
    ["last 24 hours", r.windows["24h"]],
    ["last 7 days", r.windows["7d"]],
  ];
  return h(
    "div",
    null,
    h(
      "div",
      { class: "tiles" },
      rows.map(([label, w]) =>
        tile(`attempt success, ${label}`, percent(w.rate), `${w.completed} completed of ${w.ended} ended`),
      ),
    ),
    definition(
      FIGURES.attempt_success_rate,
      "It counts attempts, so it is lower than the per-task success rate whenever a task needed a retry.",
    ),
    table(
      rows,
      [
        { head: "Window", cell: ([l]) => l },
        { head: "Success rate", cell: ([, w]) => percent(w.rate), num: true },
        { head: "Completed", cell: ([, w]) => count(w.completed), num: true },
        {
          head: "Failed / timed out / lost",
          cell: ([, w]) =>
            `${count(w.byOutcome.failed)} / ${count(w.byOutcome.timedOut)} / ${count(w.byOutcome.lost)}`,
          num: true,
        },
        { head: "Ended (counted)", cell: ([, w]) => count(w.ended), num: true },
        { head: "Window before", cell: ([, w]) => percent(w.previous.rate), num: true },
        { head: "Trend against it", cell: ([, w]) => trend(w) },
      ],
      "No windows.",
    ),
    more(
      "By hour, last 24 hours (UTC; the current hour last, still filling)",
      table(
        r.hourly,
        [
          { head: "Hour starting", cell: (x) => time(x.hourStart) },
          { head: "Completed", cell: (x) => count(x.completed), num: true },
          { head: "Failed", cell: (x) => count(x.failed), num: true },
          { head: "Success rate", cell: (x) => percent(x.rate), num: true },
        ],
        "No hours.",
      ),
    ),
    h("p", { class: "help" }, `Read ${time(r.checkedAt)}.`),
  );
}

function drawFailures(f: Failures): HTMLElement {
  const seen = f.classes.filter((c) => c.count > 0);
  const none = f.classes.filter((c) => c.count === 0).map((c) => c.class);
  return h(
    "div",
    null,
    h(
      "p",
      null,
      `${count(f.total)} failed attempts (failed, timed out or lost) in the last ${f.window}.`,
      f.unclassified > 0
        ? ` ${count(f.unclassified)} of them fell outside the groups one read takes and are not classed.`
        : "",
    ),
    table(
      seen,
      [
        { head: "Class", cell: (c) => h("span", { class: "mono" }, c.class) },
        { head: "Failed attempts", cell: (c) => count(c.count), num: true },
        { head: "Share of all failures", cell: (c) => percent(c.share), num: true },
        { head: "What to do", cell: (c) => c.recommendation },
        { head: "Latest examples", cell: (c) => more(`${c.examples.length} examples`, examples(c.examples)) },
      ],
      "No failed attempts in this window.",
    ),
    none.length && seen.length ? h("p", { class: "help" }, `No failures of class ${none.join(", ")}.`) : null,
  );
}

function trend(w: SuccessWindow): string {
  if (!w.trend || w.delta === null) return "none: fewer than 5 attempts in a window";
  return `${w.trend} (${w.delta >= 0 ? "+" : ""}${(w.delta * 100).toFixed(1)} points)`;
}

function examples(list: Failures["classes"][number]["examples"]): HTMLElement {
  const task = (id: string) => link(`#/tasks/${id}`, h("span", { class: "mono" }, short(id)));
  return h(
    "ul",
    null,
    list.map((x) => h("li", null, `${time(x.at)} · `, task(x.taskId), ` ${x.type}: ${x.message ?? "—"}`)),
  );
}

function drawDiagnostics(d: Diagnostics): HTMLElement {
  const c = d.checked;
  const store = (name: string, s: Diagnostics["checked"]["stores"]["postgres"]): [string, Node[]] => [
    name,
    [
      badge(s.ok ? "ok" : "down"),
      new Text(`${s.latencyMs === null ? "" : ` ${s.latencyMs.toFixed(1)} ms`} ${s.error ?? ""}`),
    ],
  ];
  return h(
    "div",
    null,
    h(
      "p",
      null,
      "Overall: ",
      badge(d.status),
      ` (checked ${time(d.checkedAt)}, on the replica that answered)`,
    ),
    h("h3", null, "Findings"),
    table(
      d.findings,
      [
        { head: "Severity", cell: (x) => badge(x.severity) },
        { head: "Component", cell: (x) => x.component },
        { head: "Finding", cell: (x) => x.message },
        { head: "Evidence", cell: (x) => more("show", json(x.evidence)) },
      ],
      "No findings: every check passed.",
    ),
    h("h3", null, "What was checked"),
    kv([
      store("Postgres", c.stores.postgres),
      store("Redis", c.stores.redis),
      [
        "Leases",
        `${count(c.leases.active)} active; ${count(c.leases.expired.count)} past their deadline${c.leases.expired.count ? ` (oldest ${duration(c.leases.expired.oldestOverdueMs)} over)` : ""}`,
      ],
      ["Live agents", count(c.agents)],
    ]),
    more(
      `Queues (${c.queues.length} task types)`,
      table(
        c.queues,
        [
          { head: "Task type", cell: (q) => q.type },
          { head: "Queued in Postgres (ready)", cell: (q) => count(q.pgReady), num: true },
          { head: "Queued in Postgres (delayed)", cell: (q) => count(q.pgDelayed), num: true },
          {
            head: "BullMQ waiting / delayed / active",
            cell: (q) => (q.bull ? `${q.bull.waiting} / ${q.bull.delayed} / ${q.bull.active}` : "unreadable"),
            num: true,
          },
        ],
        "No queued task types.",
      ),
    ),
    more(
      `Loops of this replica (${c.loops.length})`,
      table(
        c.loops,
        [
          { head: "Loop", cell: (l) => l.name },
          { head: "Every", cell: (l) => duration(l.intervalMs), num: true },
          { head: "Passes", cell: (l) => count(l.runs), num: true },
          { head: "Errors", cell: (l) => count(l.errors), num: true },
          { head: "Last pass", cell: (l) => agoMs(l.lastRunAt) },
          {
            head: "Last error",
            cell: (l) => (l.lastError ? `${l.lastError} (${agoMs(l.lastErrorAt)})` : "none"),
          },
        ],
        "No loops.",
      ),
    ),
  );
}

const agoMs = (ms: number | null) => ago(ms === null ? null : new Date(ms).toISOString());

const RESET = "/api/dashboard/coordination/reset";
const HEAL = "/api/dashboard/recovery/auto-heal";

/** The confirmation must be for what the dry run planned. */
function samePlan(planned: string | undefined, now: string | undefined): void {
  if (planned !== now) throw new Error(`The dry run was for ${planned}: run it again for ${now}.`);
}

function levers(ctx: PageContext): HTMLElement {
  const reset: ActionSpec = {
    label: "Reset coordination",
    need: "admin",
    danger: true,
    title: "Reset coordination",
    explain:
      "Repairs the Redis mirrors from Postgres, the system of record. soft: a reconciler pass now (re-queues tasks missing from BullMQ, ends dead agents' leases as lost); safe at any time. hard: also releases the leases of stale or draining agents and rebuilds every live agent's Redis mirror. full: also tells every active or stale agent to drain and stop. Run the dry run to see what it would touch; the confirmation it returns is good for 2 minutes, for this level only.",
    reason: "required",
    fields: [{ name: "level", label: "Level", options: ["soft", "hard", "full"], value: "soft" }],
    confirmLabel: (v) => `${v.level} reset`,
    dryRun: (reason, v) => api.post(RESET, { level: v.level, reason }),
    run: (reason, v, dry) => {
      const plan = dry?.data as { confirmationToken?: string; level?: string } | undefined;
      samePlan(plan?.level, v.level);
      return api.post(RESET, { level: v.level, reason, confirmationToken: plan?.confirmationToken });
    },
    done: ctx.reload,
  };
  const strategies = ["conservative", "smart", "aggressive"];
  const heal: ActionSpec = {
    label: "Auto-heal",
    need: "operator",
    title: "Auto-heal",
    explain:
      "Plans repairs from what is wrong now and, on confirmation, carries them out within the intensity limits (docs/recovery.md). conservative: re-queues leases held by dead agents and retries recently dead-lettered tasks whose failure was transient. smart: also restarts managed agents this replica gave up on, quarantines agent names that keep dying and opens the circuit of task types that mostly fail. aggressive: also drains and restarts stale or mostly-failing agents. The dry run shows the plan and what the limits would hold back; confirming plans again from the state then and executes.",
    reason: "none",
    fields: [{ name: "strategy", label: "Strategy", options: strategies, value: "conservative" }],
    confirmLabel: (v) => `auto-heal (${v.strategy})`,
    dryRun: (_r, v) => api.post<HealReport>(HEAL, { strategy: v.strategy, dryRun: true }),
    run: (_r, v, dry) => {
      samePlan((dry?.data as HealReport | undefined)?.strategy, v.strategy);
      return api.post<HealReport>(HEAL, { strategy: v.strategy, dryRun: false });
    },
    done: ctx.reload,
  };
  return actionBar(ctx.session, [heal, reset]);
}
