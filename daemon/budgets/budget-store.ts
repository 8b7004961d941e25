import { budgetApprovalsStore } from "../store/budget-approvals-store.ts";
import { budgetsStore } from "../store/budgets-store.ts";
import { llmCallsStore } from "../store/llm-calls-store.ts";

export { type StoredBudget, toBudget } from "../store/budgets-store.ts";

/**
 * The budget statements under their former names, for callers not yet moved to the stores
 * (`budgets-store.ts` writes `budgets`, `budget-approvals-store.ts` writes `budget_approvals`).
 * The pipeline service settles approvals through `budgetSql.decide`.
 */
export const budgetSql = {
  list: budgetsStore.list,
  get: budgetsStore.get,
  usage: budgetsStore.usage,
  forRun: budgetsStore.forRun,
  runSpent: llmCallsStore.runCostUsd,
  approval: budgetApprovalsStore.get,
  requestApproval: budgetApprovalsStore.request,
  decide: budgetApprovalsStore.decide,
  pendingApprovals: budgetApprovalsStore.pending,
};
