import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { BUDGET_ROUTES as R } from "../../contract/routes/budgets.ts";
import type { ApiDeps } from "../api-deps.ts";
import { routeOptions } from "../route-options.ts";
import { actorOf } from "./pipeline-routes.ts";

/**
 * Spending limits (admin writes, viewer reads) and their live status. Approving or rejecting a
 * waiting budget step is a run action: POST /api/pipelines/runs/:id/steps/:stepId/approve-budget.
 */
export function budgetRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.route({
      ...routeOptions(R.list),
      handler: async () => ({ budgets: await deps.budgets.list() }),
    });
    app.route({
      ...routeOptions(R.approvals),
      handler: async () => ({ pending: await deps.budgets.pendingApprovals() }),
    });
    app.route({
      ...routeOptions(R.get),
      handler: async (request) => deps.budgets.get(request.params.id),
    });
    app.route({
      ...routeOptions(R.create),
      handler: async (request, reply) =>
        reply.code(201).send(await deps.budgets.create(request.body, actorOf(request), request.id)),
    });
    app.route({
      ...routeOptions(R.update),
      handler: async (request) =>
        deps.budgets.update(request.params.id, request.body, actorOf(request), request.id),
    });
    app.route({
      ...routeOptions(R.remove),
      handler: async (request) => deps.budgets.remove(request.params.id, actorOf(request), request.id),
    });
    app.route({
      ...routeOptions(R.status),
      handler: async () => {
        const now = new Date();
        const [budgets, pending] = await Promise.all([
          deps.budgets.status(now),
          deps.budgets.pendingApprovals(),
        ]);
        return { at: now.toISOString(), budgets, pendingApprovals: pending.length };
      },
    });
  };
}
