import { FIGURES } from "../../../contract/figures.ts";
import type { BudgetStatusView, PendingApproval } from "../../../contract/schemas/budgets.ts";
import type {
  CostByModelReply,
  CostByPhaseReply,
  CostHistoryReply,
  CostsReply,
  CostTotals,
} from "../../../contract/schemas/costs.ts";
import { badge, h, json, link, table, tile } from "../dom.ts";
import { ago, count, percent, short, time, usd } from "../format.ts";
import { definition } from "./run-common.ts";

/** The tables of the costs page: spend and tokens by role, model, phase and time; budgets; approvals. */

type Row = { label: string; note?: string } & CostTotals;

const costColumns = [
  { head: "Calls", cell: (r: Row) => count(r.calls), num: true },
  { head: "Input tokens", cell: (r: Row) => count(r.inputTokens), num: true },
  { head: "Output tokens", cell: (r: Row) => count(r.outputTokens), num: true },
  { head: "Cost (USD)", cell: (r: Row) => usd(r.totalUsd), num: true },
  { head: "Calls without a price", cell: (r: Row) => count(r.unpricedCalls), num: true },
];

function costTable(head: string, rows: Row[], empty: string): HTMLElement {
  return table(
    rows,
    [{ head, cell: (r) => [r.label, r.note ? h("div", { class: "help" }, r.note) : null] }, ...costColumns],
    empty,
  );
}

export function totals(c: CostsReply): HTMLElement {
  const def = FIGURES.cost_usd;
  return h(
    "div",
    null,
    h(
      "div",
      { class: "tiles" },
      tile("LLM cost (USD)", usd(c.totalUsd), def.counts),
      tile("LLM calls", count(c.calls)),
      tile("input tokens", count(c.inputTokens)),
      tile("output tokens", count(c.outputTokens)),
      tile("calls without a price (cost 0)", count(c.unpricedCalls)),
    ),
    h("p", { class: "help" }, `Calls made from ${time(c.from)} to ${time(c.to)} (UTC).`),
    definition(def, "A call of a model without a price costs 0 and is counted under “without a price”."),
  );
}

export function byRole(c: CostsReply): HTMLElement {
  return costTable(
    "Agent role",
    c.byRole.map((r) => ({ ...r, label: r.role })),
    "No LLM calls in this window.",
  );
}

export function byModel(m: CostByModelReply): HTMLElement {
  return costTable(
    "Model",
    m.models.map((r) => ({ ...r, label: r.model, note: `provider ${r.provider}` })),
    "No LLM calls in this window.",
  );
}

export function byPhase(p: CostByPhaseReply): HTMLElement {
  return costTable(
    "Template / step",
    p.steps.map((r) => ({
      ...r,
      label: `${r.template ?? "outside any run"} / ${r.stepId ?? "outside any step"}`,
    })),
    "No LLM calls in this window.",
  );
}

export function history(c: CostHistoryReply): HTMLElement {
  const max = Math.max(0, ...c.buckets.map((b) => b.totalUsd));
  return h(
    "div",
    null,
    h("p", { class: "help" }, `By UTC ${c.bucket}, oldest first; only ${c.bucket}s with calls are listed.`),
    table(
      c.buckets.map((b) => ({ ...b, label: time(b.start) })),
      [
        { head: `${c.bucket === "hour" ? "Hour" : "Day"} starting`, cell: (r) => r.label },
        ...costColumns,
        {
          head: "Cost, relative to the largest",
          cell: (r) =>
            max > 0
              ? h(
                  "div",
                  { class: "bar", "aria-hidden": "true" },
                  h("span", { style: `width:${(r.totalUsd / max) * 100}%` }),
                )
              : h("span", { class: "help" }, "all $0"),
        },
      ],
      "No LLM calls in this window.",
    ),
  );
}

const SCOPE: Record<string, string> = {
  global: "every agent",
  template: "runs of template",
  role: "agents of role",
};

export function budgets(list: BudgetStatusView[]): HTMLElement {
  return table(
    list,
    [
      {
        head: "Budget",
        cell: (b) => [
          `${b.scope}: ${SCOPE[b.scope] ?? ""} ${b.target}`.trim(),
          b.description ? h("div", { class: "help" }, b.description) : null,
        ],
      },
      {
        head: "Period (UTC)",
        cell: (b) => [`this ${b.period}`, h("div", { class: "help" }, `resets ${time(b.periodEnd)}`)],
      },
      { head: "Spent (USD)", cell: (b) => usd(b.spentUsd), num: true },
      { head: "Soft limit (USD)", cell: (b) => limit(b.softLimitUsd, b.softUsed), num: true },
      { head: "Hard limit (USD)", cell: (b) => limit(b.hardLimitUsd, b.hardUsed), num: true },
      {
        head: "Burn rate",
        cell: (b) => [
          `${b.burnRate > 0 && b.burnRate < 0.01 ? b.burnRate.toPrecision(2) : b.burnRate.toFixed(2)}×`,
          h("div", { class: "help" }, "1× spends the limit exactly by the period's end"),
        ],
        num: true,
      },
      { head: "Projected at period end (USD)", cell: (b) => usd(b.projectedUsd), num: true },
      {
        head: "Over the hard limit",
        cell: (b) => (b.onHard === "approval" ? "waits for an operator's approval" : "fails the run"),
      },
      { head: "State", cell: (b) => budgetState(b.state) },
    ],
    "No budgets: nothing limits LLM spend. An admin creates one with POST /api/budgets (docs/budgets.md).",
  );
}

function limit(value: number | null, used: number | null): HTMLElement | string {
  if (value === null) return "no limit";
  return h("span", null, money(value), h("div", { class: "help" }, `${percent(used)} used`));
}

/** Limits are kept to 6 decimals: below a hundredth of a cent, usd()'s 4 decimals would read $0.0000. */
function money(value: number): string {
  return value > 0 && value < 0.0001 ? `$${value.toFixed(6)}` : usd(value);
}

/** The budget states in words: ok (within both limits), warning (over the soft one), exceeded (over the hard one). */
function budgetState(state: string): HTMLElement {
  const words: Record<string, string> = {
    ok: "within limits",
    warning: "over the soft limit",
    exceeded: "over the hard limit",
  };
  return h("span", null, badge(state), h("div", { class: "help" }, words[state] ?? ""));
}

export function approvalsTable(
  pending: PendingApproval[],
  act: (p: PendingApproval) => HTMLElement | null,
  canAct: boolean,
): HTMLElement {
  return table(
    pending,
    [
      { head: "Run", cell: (p) => link(`#/runs/${p.runId}`, h("span", { class: "mono" }, short(p.runId))) },
      {
        head: "Template / step",
        cell: (p) => `${p.template} / ${p.stepId}${p.generation > 0 ? ` (retry ${p.generation})` : ""}`,
      },
      {
        head: "Waiting since",
        cell: (p) => [time(p.requestedAt), h("div", { class: "help" }, ago(p.requestedAt))],
      },
      { head: "Why", cell: (p) => why(p.reason) },
      ...(canAct ? [{ head: "Decide", cell: (p: PendingApproval) => act(p) ?? "—" }] : []),
    ],
    "No budget step is waiting for an approval.",
  );
}

function why(reason: unknown): HTMLElement {
  const exceeded = (reason as { exceeded?: unknown } | null)?.exceeded;
  const lines = Array.isArray(exceeded) ? exceeded.filter((x): x is string => typeof x === "string") : [];
  return h(
    "div",
    null,
    lines.length
      ? h(
          "ul",
          null,
          lines.map((l) => h("li", null, l)),
        )
      : null,
    h("details", null, h("summary", null, "the budget step's verdict"), json(reason)),
  );
}
