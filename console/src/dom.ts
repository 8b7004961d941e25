/** A small hyperscript: the console builds its pages from plain DOM nodes, no framework. */

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(name.replace(/^on/, ""), value);
    // Through the CSSOM: the page's policy forbids style attributes, not styles set from its own script.
    else if (name === "style") el.style.cssText = String(value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else parent.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
}

/** Replaces a node's children. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A table from rows, with a message instead when there are none (an empty answer is an answer). */
export function table<T>(
  rows: readonly T[],
  columns: Array<{ head: string; cell: (row: T) => Child; num?: boolean }>,
  empty: string,
): HTMLElement {
  if (rows.length === 0) return h("p", { class: "empty" }, empty);
  return h(
    "table",
    null,
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        columns.map((c) => h("th", { class: c.num ? "num" : null, scope: "col" }, c.head)),
      ),
    ),
    h(
      "tbody",
      null,
      rows.map((r) =>
        h(
          "tr",
          null,
          columns.map((c) => h("td", { class: c.num ? "num" : null }, c.cell(r))),
        ),
      ),
    ),
  );
}

/** Label and value pairs. */
export function kv(pairs: Array<[string, Child]>): HTMLElement {
  return h(
    "dl",
    { class: "kv" },
    pairs.map(([k, v]) => [h("dt", null, k), h("dd", null, v)]),
  );
}

export function tile(label: string, value: Child, help?: string): HTMLElement {
  return h(
    "div",
    { class: "tile", title: help },
    h("div", { class: "n" }, value),
    h("div", { class: "l" }, label),
  );
}

export function link(href: string, text: Child): HTMLAnchorElement {
  return h("a", { href }, text);
}

export type Severity = "ok" | "warn" | "bad" | "idle";

/**
 * A state in words, with a shape and colour for its severity (never colour alone). The severity
 * comes from the word unless the caller knows better (an override that is `active` is an emergency
 * in force, not a healthy state).
 */
export function badge(state: string, severity?: Severity): HTMLElement {
  return h(
    "span",
    { class: `badge ${severity ? `s-${severity}` : severityClass(state)}` },
    state.replaceAll("_", " "),
  );
}

const OK = ["active", "completed", "succeeded", "done", "ok", "up", "running", "closed", "healthy"];
const WARN = [
  "stale",
  "draining",
  "queued",
  "delayed",
  "paused",
  "snoozed",
  "pending",
  "waiting",
  "degraded",
  "escalated",
  "retrying",
  "half_open",
  "undone",
  "expired",
  "warning",
];
// "open" is not here: an open conversation is fine, an open circuit is not; callers say which.
const BAD = [
  "dead",
  "failed",
  "error",
  "down",
  "cancelled",
  "quarantined",
  "critical",
  "timed_out",
  "lost",
  "exceeded",
];

export function severityClass(state: string): string {
  const s = state.toLowerCase();
  if (BAD.includes(s)) return "s-bad";
  if (WARN.includes(s)) return "s-warn";
  if (OK.includes(s)) return "s-ok";
  return "s-idle";
}

export function json(value: unknown): HTMLElement {
  return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
}

export function errorBox(error: unknown): HTMLElement {
  return h("p", { class: "error", role: "alert" }, messageOf(error));
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A select whose first choice, "any", means no filter; `titles` explain each value on hover. */
export function anyOf(
  name: string,
  values: readonly string[],
  selected: string,
  titles: Partial<Record<string, string>> = {},
): HTMLSelectElement {
  return h(
    "select",
    { name },
    h("option", { value: "" }, "any"),
    values.map((v) => h("option", { value: v, selected: v === selected, title: titles[v] }, v)),
  );
}

/**
 * A filter form's fields as a page query: each named field trimmed, an empty one left out (the
 * router drops it), so every list page turns its form into its URL the same way.
 */
export function formQuery(form: HTMLFormElement): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of new FormData(form)) out[name] = String(value).trim() || undefined;
  return out;
}
