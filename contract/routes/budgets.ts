import { defineRoute } from "../route.ts";
import {
  BudgetListReply,
  BudgetPatchBody,
  BudgetStatusReply,
  BudgetView,
  NewBudgetBody,
  PendingApprovalsReply,
} from "../schemas/budgets.ts";
import { IdParams } from "../schemas/common.ts";

/**
 * Spending limits (admin writes, viewer reads) and their live status. Approving or rejecting a
 * waiting budget step is a run action: POST /api/pipelines/runs/:id/steps/:stepId/approve-budget.
 */
export const BUDGET_ROUTES = {
  list: defineRoute({
    method: "GET",
    url: "/api/budgets",
    operationId: "listBudgets",
    summary: "Every budget",
    tag: "budgets",
    auth: "viewer",
    replies: { 200: BudgetListReply },
  }),
  approvals: defineRoute({
    method: "GET",
    url: "/api/budgets/approvals",
    operationId: "listBudgetApprovals",
    summary: "Mission budget steps waiting for an operator's approval",
    tag: "budgets",
    auth: "viewer",
    replies: { 200: PendingApprovalsReply },
  }),
  get: defineRoute({
    method: "GET",
    url: "/api/budgets/:id",
    operationId: "getBudget",
    summary: "A budget",
    tag: "budgets",
    auth: "viewer",
    params: IdParams,
    replies: { 200: BudgetView },
    errors: [404],
  }),
  create: defineRoute({
    method: "POST",
    url: "/api/budgets",
    operationId: "createBudget",
    summary: "Create a budget (audited); 409 when one of its scope, target and period exists",
    tag: "budgets",
    auth: "admin",
    body: NewBudgetBody,
    replies: { 201: BudgetView },
    errors: [409],
  }),
  update: defineRoute({
    method: "PATCH",
    url: "/api/budgets/:id",
    operationId: "updateBudget",
    summary: "Change a budget's limits or description (audited)",
    tag: "budgets",
    auth: "admin",
    params: IdParams,
    body: BudgetPatchBody,
    replies: { 200: BudgetView },
    errors: [404],
  }),
  remove: defineRoute({
    method: "DELETE",
    url: "/api/budgets/:id",
    operationId: "deleteBudget",
    summary: "Delete a budget (audited); answers the budget as it was",
    tag: "budgets",
    auth: "admin",
    params: IdParams,
    replies: { 200: BudgetView },
    errors: [404],
  }),
  status: defineRoute({
    method: "GET",
    url: "/api/metrics/costs/budget",
    operationId: "getBudgetStatus",
    summary: "Every budget's spend, use, burn rate and state now, and how many approvals are pending",
    tag: "budgets",
    auth: "viewer",
    replies: { 200: BudgetStatusReply },
  }),
};
