import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { ErrorBody } from "../../contract/errors.ts";
import { BudgetPatchBody, NewBudgetBody } from "../../contract/schemas/budgets.ts";
import { AnyJson, IdParams } from "../../contract/schemas/common.ts";
import type { ApiDeps } from "../api-deps.ts";
import { actorOf } from "./pipeline-routes.ts";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

/**
 * Spending limits (admin writes, viewer reads) and their live status. Approving or rejecting a
 * waiting budget step is a run action: POST /api/pipelines/runs/:id/steps/:stepId/approve-budget.
 */
export function budgetRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    const b = deps.budgets;
    const tags = ["budgets"];
    const ok = () => ({ 200: AnyJson, ...errors });

    app.get("/budgets", { config: { auth: "viewer" }, schema: { tags, response: ok() } }, async () => ({
      budgets: await b.list(),
    }));
    app.get(
      "/budgets/approvals",
      { config: { auth: "viewer" }, schema: { tags, response: ok() } },
      async () => ({ pending: await b.pendingApprovals() }),
    );
    app.get(
      "/budgets/:id",
      { config: { auth: "viewer" }, schema: { tags, params: IdParams, response: ok() } },
      async (request) => b.get(request.params.id),
    );
    app.post(
      "/budgets",
      {
        config: { auth: "admin" },
        schema: { tags, body: NewBudgetBody, response: { 201: AnyJson, ...errors } },
      },
      async (request, reply) => reply.code(201).send(await b.create(request.body, actorOf(request))),
    );
    app.patch(
      "/budgets/:id",
      {
        config: { auth: "admin" },
        schema: { tags, params: IdParams, body: BudgetPatchBody, response: ok() },
      },
      async (request) => b.update(request.params.id, request.body, actorOf(request)),
    );
    app.delete(
      "/budgets/:id",
      { config: { auth: "admin" }, schema: { tags, params: IdParams, response: ok() } },
      async (request) => b.remove(request.params.id, actorOf(request)),
    );
    app.get(
      "/metrics/costs/budget",
      { config: { auth: "viewer" }, schema: { tags: ["metrics"], response: ok() } },
      async () => {
        const now = new Date();
        const [budgets, pending] = await Promise.all([b.status(now), b.pendingApprovals()]);
        return { at: now.toISOString(), budgets, pendingApprovals: pending.length };
      },
    );
  };
}
