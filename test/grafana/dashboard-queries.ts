import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { buildDashboard, DASHBOARD_SPECS } from "../../grafana/src/index.ts";

/** One PromQL target of one panel, named for failure messages. */
export interface PanelQuery {
  dashboard: string;
  panelId: number;
  panel: string;
  refId: string;
  expr: string;
}

/** Every dashboard as built by the generator (in memory, not read from disk). */
export function builtDashboards(): dashboard.Dashboard[] {
  return DASHBOARD_SPECS.map(buildDashboard);
}

/** Panels of a dashboard that show data (rows are layout only), including panels nested in rows. */
export function dataPanels(d: dashboard.Dashboard): dashboard.Panel[] {
  const out: dashboard.Panel[] = [];
  for (const p of d.panels ?? []) {
    if (p.type === "row") out.push(...(((p as dashboard.RowPanel).panels ?? []) as dashboard.Panel[]));
    else out.push(p as dashboard.Panel);
  }
  return out;
}

/** Every PromQL expression of every panel. */
export function panelQueries(dashboards = builtDashboards()): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const d of dashboards) {
    for (const p of dataPanels(d)) {
      for (const t of (p.targets ?? []) as Array<{ expr?: string; refId?: string }>) {
        out.push({
          dashboard: d.uid ?? "?",
          panelId: p.id ?? -1,
          panel: p.title ?? "?",
          refId: t.refId ?? "?",
          expr: t.expr ?? "",
        });
      }
    }
  }
  return out;
}

/** The `label_values(<selector>, label)` queries of a dashboard's query variables. */
export function variableQueries(d: dashboard.Dashboard): Array<{ name: string; query: string }> {
  return (d.templating?.list ?? [])
    .filter((v) => v.type === "query")
    .map((v) => ({ name: v.name, query: typeof v.query === "string" ? v.query : "" }));
}

// PromQL words that are not metric names when they appear bare.
const KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "and",
  "or",
  "unless",
  "offset",
  "atan2",
  "inf",
  "nan",
]);
// Keywords followed by a parenthesised list of label names.
const LABEL_LIST = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"]);

type Token = { kind: "ident" | "punct" | "other"; text: string };

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'" || c === "`") {
      // A string literal: skipped whole (label values, label_replace arguments).
      let j = i + 1;
      while (j < expr.length && expr[j] !== c) j += expr[j] === "\\" && c !== "`" ? 2 : 1;
      tokens.push({ kind: "other", text: expr.slice(i, j + 1) });
      i = j + 1;
    } else if (c === "#") {
      // A comment runs to the end of the line.
      while (i < expr.length && expr[i] !== "\n") i++;
    } else if (c === "$") {
      // A Grafana variable: $name or ${name...}.
      const m = /^\$(\{[^}]*\}|\w+)/.exec(expr.slice(i));
      const text = m ? m[0] : "$";
      tokens.push({ kind: "other", text });
      i += text.length;
    } else if (/[0-9.]/.test(c)) {
      const m = /^(0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+([eE][+-]?[0-9]+)?([smhdwy]|ms)*)/.exec(expr.slice(i));
      const text = m?.[0] || c;
      tokens.push({ kind: "other", text });
      i += text.length;
    } else if (/[A-Za-z_:]/.test(c)) {
      const m = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(expr.slice(i)) as RegExpExecArray;
      tokens.push({ kind: "ident", text: m[0] });
      i += m[0].length;
    } else {
      tokens.push({ kind: "punct", text: c });
      i++;
    }
  }
  return tokens;
}

/** Index just past the bracket that closes the one at `open` (`{`/`}`, `[`/`]` or `(`/`)`). */
function skipGroup(tokens: Token[], open: number): number {
  const o = tokens[open]?.text as string;
  const close = o === "{" ? "}" : o === "[" ? "]" : ")";
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if (t.kind !== "punct") continue;
    if (t.text === o) depth++;
    else if (t.text === close && --depth === 0) return i + 1;
  }
  return tokens.length;
}

/**
 * The metric names a PromQL expression selects: identifiers used bare or followed by `{` or `[`.
 * Function and aggregation names (followed by `(`), keywords, grouping label lists, everything
 * inside `{…}` (label matchers) and `[…]` (ranges, subqueries), strings, numbers and durations
 * are not names. `{__name__="x"}` selectors are read too.
 */
export function metricNames(expr: string): string[] {
  const tokens = tokenize(expr);
  const names = new Set<string>();
  let i = 0;
  while (i < tokens.length) {
    const t = tokens[i] as Token;
    const next = tokens[i + 1];
    if (t.kind === "punct" && (t.text === "{" || t.text === "[")) {
      if (t.text === "{") {
        const end = skipGroup(tokens, i);
        const inner = tokens.slice(i, end).map((x) => x.text);
        const at = inner.indexOf("__name__");
        const value = inner[at + 2];
        if (at >= 0 && inner[at + 1] === "=" && value) names.add(value.slice(1, -1));
        i = end;
      } else {
        i = skipGroup(tokens, i);
      }
      continue;
    }
    if (t.kind !== "ident") {
      i++;
      continue;
    }
    const word = t.text.toLowerCase();
    if (LABEL_LIST.has(word)) {
      i = next?.text === "(" ? skipGroup(tokens, i + 1) : i + 1;
      continue;
    }
    if (word === "offset") {
      i += 2; // the duration after it
      continue;
    }
    // A function or aggregation: `f(`, or `sum by (…) (` / `sum without (…) (`.
    const nextWord = next?.text.toLowerCase();
    if (KEYWORDS.has(word) || next?.text === "(" || nextWord === "by" || nextWord === "without") {
      i++;
      continue;
    }
    names.add(t.text);
    i++;
  }
  return [...names];
}

/** The metric names of a variable's `label_values(<selector>, label)` query (none for other queries). */
export function variableMetricNames(query: string): string[] {
  const m = /^\s*label_values\((.*),\s*\w+\s*\)\s*$/s.exec(query);
  return m ? metricNames(m[1] as string) : [];
}

/** Values the tests give Grafana's variables: every label variable is "All" (`.*`). */
export const TEST_VARIABLES: Record<string, string> = {
  __rate_interval: "15s",
  __interval: "5s",
  __interval_ms: "5000",
  __range: "5m",
  __range_s: "300",
  __range_ms: "300000",
  datasource: "prometheus",
  job: ".*",
  role: ".*",
  type: ".*",
  template: ".*",
  model: ".*",
};

/** Replaces `$name`, `${name}` and `${name:format}` with `vars`; throws on a variable it does not know. */
export function substitute(expr: string, vars: Record<string, string> = TEST_VARIABLES): string {
  return expr.replace(/\$\{(\w+)(?::[^}]*)?\}|\$(\w+)/g, (_m, braced: string, bare: string) => {
    const name = braced ?? bare;
    const value = vars[name];
    if (value === undefined) throw new Error(`unknown Grafana variable $${name} in ${expr}`);
    return value;
  });
}
