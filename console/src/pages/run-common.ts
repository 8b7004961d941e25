import type { Static } from "typebox";
import type { Figure } from "../../../contract/figures.ts";
import type { PendingApprovalsReply as ApprovalsSchema } from "../../../contract/schemas/budgets.ts";
import type {
  RunList as RunListSchema,
  RunSummary as RunSummarySchema,
  RunView as RunViewSchema,
  TemplateList as TemplateListSchema,
} from "../../../contract/schemas/pipelines.ts";
import type { WorkflowDetails as WorkflowDetailsSchema } from "../../../contract/schemas/workflow.ts";
import { errorBox, fill, h, kv, messageOf } from "../dom.ts";
import { type FeedMessage, openFeed } from "../feed.ts";
import { duration, time } from "../format.ts";
import type { PageContext } from "../router.ts";

/** What the run pages share: the wire types, progress, ETA, UTC time fields and the live refresh. */

export type RunSummary = Static<typeof RunSummarySchema>;
export type RunList = Static<typeof RunListSchema>;
export type RunView = Static<typeof RunViewSchema>;
export type StepView = RunView["steps"][number];
export type RunEvent = RunView["events"][number];
export type TemplateList = Static<typeof TemplateListSchema>;
export type WorkflowDetails = Static<typeof WorkflowDetailsSchema>;
export type PendingApprovals = Static<typeof ApprovalsSchema>;

/** RUN_STATES of contract/schemas/pipelines.ts (a value import would bundle typebox). */
export const RUN_STATES = ["running", "paused", "snoozed", "completed", "failed", "cancelled"] as const;
export const TERMINAL = ["completed", "failed", "cancelled"];

/** A percent as a bar and its number (never the bar alone). */
export function progress(percent: number | null): HTMLElement {
  if (percent === null) return h("span", { class: "help" }, "no progress reported");
  const p = Math.max(0, Math.min(100, percent));
  return h(
    "span",
    { style: "display:flex;align-items:center;gap:6px" },
    h(
      "span",
      {
        class: "bar",
        role: "progressbar",
        "aria-valuemin": 0,
        "aria-valuemax": 100,
        "aria-valuenow": p,
        "aria-label": "Percent done",
        style: "flex:1;display:block",
      },
      h("span", { style: `width:${p}%` }),
    ),
    h("span", { style: "white-space:nowrap" }, `${p.toFixed(1)} %`),
  );
}

const METHOD: Record<string, string> = {
  history: "from earlier runs",
  rate: "from the pace so far",
  none: "no estimate",
};

/** The daemon's estimate in words: time left, when, and how it was made (`brief`: time left and how). */
export function eta(run: Pick<RunView, "state" | "eta">, brief = false): HTMLElement {
  if (TERMINAL.includes(run.state)) return h("span", null, `ended ${time(run.eta.at)}`);
  const left = run.eta.remainingMs;
  if (left === null) return h("span", { class: "help" }, "no estimate yet (no progress, no history)");
  const how = METHOD[run.eta.method] ?? run.eta.method;
  // The daemon estimates a paused run as if it went on now; it has no end until someone resumes it.
  if (run.state === "paused") {
    return h(
      "span",
      null,
      `${duration(left)} of work left`,
      h("span", { class: "help" }, ` · no end while paused`),
    );
  }
  const when = brief ? ` · ${how}` : ` · ends ≈ ${time(run.eta.at)}, ${how}`;
  // 0 for an unfinished run: it has taken longer than the estimate allowed (the daemon clips at 0).
  const text = left === 0 ? "past the estimate" : `${duration(left)} left`;
  return h("span", null, text, h("span", { class: "help" }, when));
}

/** Created to finished, or to now while unfinished (the run view's elapsedMs when there is one). */
export function elapsedOf(run: RunSummary, now = Date.now()): number {
  const end = run.finishedAt ? Date.parse(run.finishedAt) : now;
  return end - Date.parse(run.createdAt);
}

/** `<input type=datetime-local>` values are read and written as UTC (the console shows UTC). */
export function utcInput(iso: string | null | undefined): string {
  return iso ? new Date(iso).toISOString().slice(0, 16) : "";
}

export function fromUtcInput(value: string): string | undefined {
  if (!value) return undefined;
  const ms = Date.parse(`${value}Z`);
  if (!Number.isFinite(ms)) throw new Error(`"${value}" is not a date and time`);
  return new Date(ms).toISOString();
}

/**
 * Refreshes a page's data on matching events of the coordination feed: at most once a second
 * (events in between are gathered), never two refreshes at once, and again after a reconnect
 * (events missed while away are not replayed). The feed closes when the operator leaves.
 */
export function liveRefresh(
  ctx: PageContext,
  accept: (event: NonNullable<FeedMessage["event"]>) => boolean,
  refresh: () => Promise<void>,
  status: HTMLElement,
): void {
  let timer: number | undefined;
  let busy = false;
  let again = false;
  let wasDown = false;
  const run = async () => {
    timer = undefined;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      await refresh();
      status.textContent = `Live: updated ${time(new Date().toISOString())} after a change.`;
    } catch (e) {
      status.textContent = `Live update failed: ${messageOf(e)}`;
    } finally {
      busy = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  };
  const schedule = () => {
    if (timer === undefined) timer = window.setTimeout(() => void run(), 1_000);
  };
  const feed = openFeed(
    "coordination",
    (m) => {
      if (m.type === "event" && m.event && accept(m.event)) schedule();
    },
    (s, detail) => {
      status.dataset.feed = s;
      if (s === "live") {
        status.textContent = "Live: changes appear within a second.";
        if (wasDown) schedule();
        wasDown = false;
      } else {
        wasDown = true;
        status.textContent = `Live updates ${s}${detail ? `: ${detail}` : ""}.`;
      }
    },
  );
  ctx.onLeave(() => {
    if (timer !== undefined) clearTimeout(timer);
    feed.close();
  });
}

const drawn = new WeakMap<Element, string>();

/** Redraws a section only when its data changed, so open details and scroll positions survive a refresh. */
export function drawIfChanged(el: Element, data: unknown, draw: () => void): void {
  const key = JSON.stringify(data);
  if (drawn.get(el) === key) return;
  drawn.set(el, key);
  draw();
}

export function section(title: string, ...body: Array<Node | null>): HTMLElement {
  return h("section", { "aria-label": title }, h("h2", null, title), body);
}

/** A collapsed part: its summary, then the body once opened. */
export function more(summary: string, ...body: Array<Node | string | null>): HTMLElement {
  return h("details", null, h("summary", null, summary), body);
}

/** Fills `el` with what `read` answered, drawn, or with the error it gave. */
export async function show<T>(
  el: HTMLElement,
  read: Promise<T>,
  draw: (v: T) => Node | Node[],
): Promise<void> {
  try {
    fill(el, draw(await read));
  } catch (e) {
    fill(el, errorBox(e));
  }
}

/** A one-select form that sets one query key (a window, a state filter), keeping the keys in `keep`. */
export function choice(
  ctx: PageContext,
  label: string,
  name: string,
  options: Array<[value: string, text: string]>,
  current: string,
  keep: Record<string, string | undefined> = {},
): HTMLFormElement {
  const select = h(
    "select",
    { name },
    options.map(([v, text]) => h("option", { value: v, selected: v === current }, text)),
  );
  const form = h(
    "form",
    { class: "filters", "aria-label": label },
    h("label", null, label, select),
    h("button", { type: "submit", class: "primary" }, "Show"),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    ctx.setQuery({ ...keep, [name]: select.value || undefined });
  });
  return form;
}

export const loading = (): HTMLElement => h("div", null, "Loading…");

/** A figure's definition from the registry docs/figures.md is generated from (contract/figures.ts). */
export function definition(f: Figure, note?: string): HTMLElement {
  // The registry writes states as `completed`: shown as code, not as backticks.
  const code = (text: string) => text.split("`").map((part, i) => (i % 2 ? h("code", null, part) : part));
  const pairs: Array<[string, string]> = [["Counts", f.counts]];
  if (f.over) pairs.push(["Out of", f.over]);
  if (f.excluded) pairs.push(["Left out", f.excluded]);
  pairs.push(["Window", f.window]);
  if (f.whenNull) pairs.push(["No data when", `${f.whenNull}: shown as "no data", never 0 %`]);
  return h(
    "div",
    { class: "card" },
    h("strong", null, `${f.name}: definition (figure ${f.id}, docs/figures.md)`),
    kv(pairs.map(([k, v]): [string, Array<HTMLElement | string>] => [k, code(v)])),
    note ? h("p", { class: "help" }, note) : null,
  );
}
