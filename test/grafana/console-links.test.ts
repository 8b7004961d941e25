import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { describe, expect, it } from "vitest";
import { TASK_STATES } from "../../contract/schemas/tasks.ts";
import { dataPanels, metricNames } from "./dashboard-queries.ts";

/** The committed dashboards (what Grafana loads), not the generator's in-memory output. */
const DIR = fileURLToPath(new URL("../../grafana/dashboards/", import.meta.url));
const DASHBOARDS = readdirSync(DIR)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((file) => ({ file, d: JSON.parse(readFileSync(`${DIR}${file}`, "utf8")) as dashboard.Dashboard }));

// biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana variable reference, not a JS template.
const CONSOLE = "${console_url}";
const LABEL = String.raw`\$\{__field\.labels\.(\w+):percentencode\}`;
const BASE = String.raw`^\$\{console_url\}/#`;

/** The console's pages Grafana may link to, and the series label each takes (null: any label). */
const SHAPES: Array<{ page: string; re: RegExp; label: string | null }> = [
  { page: "agent", re: new RegExp(`${BASE}/agents/${LABEL}$`), label: "agent" },
  { page: "fleet", re: new RegExp(`${BASE}/fleet\\?role=${LABEL}$`), label: "role" },
  { page: "tasks", re: new RegExp(`${BASE}/tasks\\?type=${LABEL}(?:&state=(\\w+))?$`), label: "type" },
  { page: "run", re: new RegExp(`${BASE}/runs/${LABEL}$`), label: null },
  { page: "runs", re: new RegExp(`${BASE}/runs\\?template=${LABEL}$`), label: "template" },
];

interface Target {
  refId: string;
  expr: string;
}
interface Link {
  where: string;
  title: string;
  url: string;
  /** The targets whose series show the link. */
  targets: Target[];
}

/**
 * The labels an expression's result series carry: those of its outermost aggregation's `by (…)`,
 * after functions that keep their argument's labels (histogram_quantile, which drops `le`; topk).
 * For `a / b` that is `a`'s (one-to-one matching). No outer `by`: no labels.
 */
function resultLabels(expr: string): string[] {
  let e = expr.trim();
  for (let m = /^(?:histogram_quantile|topk|bottomk)\(\s*[\d.]+\s*,\s*/.exec(e); m; ) {
    e = e.slice(m[0].length);
    m = /^(?:histogram_quantile|topk|bottomk)\(\s*[\d.]+\s*,\s*/.exec(e);
  }
  const by = /^(?:sum|max|min|avg|count|group)\s+by\s*\(([^)]*)\)/.exec(e);
  if (!by) return [];
  return (by[1] as string)
    .split(",")
    .map((l) => l.trim())
    .filter((l) => l !== "" && l !== "le");
}

/** Every data link of every panel (field defaults and overrides), with the targets it applies to. */
function dataLinks(): { links: Link[]; problems: string[] } {
  const links: Link[] = [];
  const problems: string[] = [];
  for (const { file, d } of DASHBOARDS) {
    for (const p of dataPanels(d)) {
      const where = `${file} #${p.id} "${p.title}"`;
      const targets = ((p.targets ?? []) as Array<{ refId?: string; expr?: string }>).map((t) => ({
        refId: t.refId ?? "?",
        expr: t.expr ?? "",
      }));
      const add = (items: unknown, to: Target[]) => {
        for (const l of (items ?? []) as Array<{ title?: string; url?: string }>) {
          links.push({ where, title: l.title ?? "", url: l.url ?? "", targets: to });
        }
      };
      add(p.fieldConfig?.defaults?.links, targets);
      for (const o of p.fieldConfig?.overrides ?? []) {
        for (const prop of o.properties.filter((x) => x.id === "links")) {
          const refId = o.matcher.id === "byFrameRefID" ? (o.matcher.options as string) : undefined;
          const to = targets.filter((t) => t.refId === refId);
          if (to.length === 0)
            problems.push(`${where}: links on ${JSON.stringify(o.matcher)}, not one query`);
          else add(prop.value, to);
        }
      }
    }
  }
  return { links, problems };
}

describe("Grafana links to the operator console", () => {
  it("every dashboard has the console_url variable, a textbox defaulting to the local console", () => {
    expect(DASHBOARDS.length).toBeGreaterThan(5);
    for (const { file, d } of DASHBOARDS) {
      const v = (d.templating?.list ?? []).find((x) => x.name === "console_url");
      expect(v, file).toMatchObject({
        type: "textbox",
        label: "Overseer console URL",
        query: "http://127.0.0.1:8080/ui",
        current: { value: "http://127.0.0.1:8080/ui" },
      });
    }
  });

  it("every console link is one of the console's pages and names only labels its query's series carry", () => {
    const { links, problems } = dataLinks();
    const console = links.filter((l) => l.url.includes(CONSOLE));
    expect(console.length).toBeGreaterThan(0);
    for (const l of console) {
      const name = `${l.where} "${l.title}" ${l.url}`;
      const shape = SHAPES.map((s) => ({ s, m: s.re.exec(l.url) })).find((x) => x.m);
      if (!shape?.m) {
        problems.push(`${name}: not one of the console's pages`);
        continue;
      }
      const label = shape.m[1] as string;
      if (shape.s.label !== null && label !== shape.s.label)
        problems.push(`${name}: the ${shape.s.page} page takes the \`${shape.s.label}\` label`);
      const state = shape.m[2];
      if (state !== undefined && !(TASK_STATES as readonly string[]).includes(state))
        problems.push(`${name}: ${state} is not a task state (${TASK_STATES.join(", ")})`);
      if (!l.title.trim()) problems.push(`${name}: no title`);
      for (const t of l.targets) {
        const carried = resultLabels(t.expr);
        for (const [, used] of l.url.matchAll(/__field\.labels\.(\w+)/g)) {
          if (!carried.includes(used as string))
            problems.push(`${name}: query ${t.refId} carries [${carried.join(", ")}], not ${used}`);
        }
        // `type` is a task type only on task and queue metrics (overseer_llm_tokens_total has
        // `type` input/output).
        if (shape.s.page === "tasks") {
          const other = metricNames(t.expr).filter((n) => !/^overseer_(tasks?|queue)_/.test(n));
          if (other.length) problems.push(`${name}: \`type\` of ${other.join(", ")} is not a task type`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("links agents or roles, task types, and pipeline templates or runs somewhere", () => {
    const pages = new Set(
      dataLinks()
        .links.map((l) => SHAPES.find((s) => s.re.test(l.url))?.page)
        .filter((p) => p !== undefined),
    );
    expect(pages.has("agent") || pages.has("fleet"), "an agent or role link").toBe(true);
    expect(pages.has("tasks"), "a task-type link").toBe(true);
    expect(pages.has("run") || pages.has("runs"), "a run or template link").toBe(true);
  });

  it("reads the labels of an expression's result from its outermost aggregation", () => {
    expect(resultLabels('max by (role) (overseer_agents{state="active"})')).toEqual(["role"]);
    expect(resultLabels("sum(max by (role) (overseer_agents))")).toEqual([]);
    expect(resultLabels("sum by (state) (max by (type, state) (overseer_queue_depth))")).toEqual(["state"]);
    expect(resultLabels("topk(10, max by (agent, role) (overseer_agent_heartbeat_age_seconds))")).toEqual([
      "agent",
      "role",
    ]);
    expect(
      resultLabels("histogram_quantile(0.95, sum by (le, template, step) (rate(x_bucket[5m])))"),
    ).toEqual(["template", "step"]);
  });
});
