import type { Static } from "typebox";
import type {
  BudgetStatusReply as BudgetStatusSchema,
  PendingApproval,
} from "../../../contract/schemas/budgets.ts";
import type {
  CostByModelReply,
  CostByPhaseReply,
  CostHistoryReply,
  CostsReply,
} from "../../../contract/schemas/costs.ts";
import { type ActionSpec, actionButton } from "../actions.ts";
import { api, may } from "../api.ts";
import { fill, h } from "../dom.ts";
import { time } from "../format.ts";
import { grafanaLink } from "../grafana.ts";
import type { Page, PageContext } from "../router.ts";
import { approvalsTable, budgets, byModel, byPhase, byRole, history, totals } from "./costs-tables.ts";
import { choice, loading, type PendingApprovals, section, show } from "./run-common.ts";

const WINDOWS: Record<string, { ms: number; label: string; bucket: "hour" | "day"; grafana: string }> = {
  "24h": { ms: 86_400_000, label: "last 24 hours", bucket: "hour", grafana: "now-24h" },
  "7d": { ms: 7 * 86_400_000, label: "last 7 days", bucket: "day", grafana: "now-7d" },
  "30d": { ms: 30 * 86_400_000, label: "last 30 days", bucket: "day", grafana: "now-30d" },
};

type BudgetStatusReply = Static<typeof BudgetStatusSchema>;

/**
 * LLM cost and budgets: reads `GET /api/metrics/costs` (total and by role), its breakdowns by model
 * and by phase and its history, `GET /api/metrics/costs/budget` (each budget's use and state) and
 * `GET /api/budgets/approvals` (budget steps waiting for an operator, approved or rejected here).
 */
export const costsPage: Page = {
  pattern: "/costs",
  title: "Costs and budgets",
  nav: "Costs",
  async render(ctx: PageContext) {
    const key = WINDOWS[ctx.query.get("window") ?? ""] ? (ctx.query.get("window") as string) : "30d";
    const w = WINDOWS[key] as (typeof WINDOWS)[string];
    const from = new Date(Date.now() - w.ms).toISOString();

    const windows = Object.entries(WINDOWS).map(([k, v]): [string, string] => [k, v.label]);
    const picker = choice(ctx, "Window", "window", windows, key);

    const slots = {
      totals: loading(),
      budgets: loading(),
      approvals: loading(),
      role: loading(),
      model: loading(),
      phase: loading(),
      history: loading(),
    };
    fill(
      ctx.root,
      h("h1", null, "Costs and budgets"),
      h(
        "p",
        { class: "sub" },
        "What recorded LLM calls cost and used, the budgets that limit spend, and budget steps waiting for an operator. ",
        grafanaLink(ctx.session, "llm", "LLM dashboard", {}, { from: w.grafana, to: "now" }),
      ),
      section("Budget approvals waiting", slots.approvals),
      section("Budgets (this period)", slots.budgets),
      section(`LLM spend, ${w.label}`, picker, slots.totals),
      section("By agent role", slots.role),
      section("By model", slots.model),
      section("By pipeline template and step", slots.phase),
      section(`Over time (by ${w.bucket})`, slots.history),
    );

    const costs = api.get<CostsReply>("/api/metrics/costs", { from });
    await Promise.all([
      show(slots.approvals, api.get<PendingApprovals>("/api/budgets/approvals"), (r) =>
        approvalsTable(r.pending, (p) => decide(ctx, p), may(ctx.session, "operator")),
      ),
      show(slots.budgets, api.get<BudgetStatusReply>("/api/metrics/costs/budget"), (r) => [
        h(
          "p",
          { class: "help" },
          `Spend now (read ${time(r.at)}), summed from recorded calls; periods are UTC days or months.`,
        ),
        budgets(r.budgets),
      ]),
      show(slots.totals, costs, totals),
      show(slots.role, costs, byRole),
      show(slots.model, api.get<CostByModelReply>("/api/metrics/costs/breakdown/model", { from }), byModel),
      show(slots.phase, api.get<CostByPhaseReply>("/api/metrics/costs/breakdown/phase", { from }), byPhase),
      show(
        slots.history,
        api.get<CostHistoryReply>("/api/metrics/costs/history", { from, bucket: w.bucket }),
        history,
      ),
    ]);
  },
};

/** Approve and reject: the run step actions of POST /api/pipelines/runs/:id/steps/:stepId/{approve,reject}-budget. */
function decide(ctx: PageContext, p: PendingApproval): HTMLElement | null {
  const spec = (verb: "approve" | "reject"): ActionSpec => ({
    label: verb === "approve" ? "Approve" : "Reject",
    need: "operator",
    danger: verb === "reject",
    title: `${verb === "approve" ? "Approve" : "Reject"} the budget step ${p.stepId} of run ${p.runId.slice(0, 8)}`,
    explain:
      verb === "approve"
        ? "The run is over a hard budget limit that asks for approval. Approving lets its budget step pass, so the run goes on spending. Your reason is recorded as the decision's comment."
        : "Rejecting fails the budget step, and with it the run. Your reason is recorded as the decision's comment.",
    reason: "optional",
    run: (reason) =>
      api.post(
        `/api/pipelines/runs/${p.runId}/steps/${p.stepId}/${verb}-budget`,
        reason ? { comment: reason } : {},
      ),
    done: ctx.reload,
  });
  const buttons = [
    actionButton(ctx.session, spec("approve")),
    actionButton(ctx.session, spec("reject")),
  ].filter((b): b is HTMLElement => b !== null);
  return buttons.length ? h("div", { class: "actions" }, buttons) : null;
}
