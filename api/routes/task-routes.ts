import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { TASK_ROUTES as R } from "../../contract/routes/tasks.ts";
import { OverseerError } from "../../daemon/errors/overseer-error.ts";
import type { ApiDeps } from "../api-deps.ts";
import type { Principal } from "../auth.ts";
import { isoTime, pageLimit } from "../paging.ts";
import { routeOptions } from "../route-options.ts";
import { actorOf } from "./pipeline-routes.ts";

function agentOf(who: Principal | null): string {
  if (who?.kind !== "agent")
    throw new OverseerError("OVS_ERR_FORBIDDEN", "only the agent holding the lease may do this");
  return who.agentId;
}

/** Tasks: submit and inspect (operator/viewer), and the lease-holding agent's progress/complete/fail/release. */
export function taskRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.route({
      ...routeOptions(R.submit),
      handler: async (request, reply) => {
        const created = await deps.tasks.submit(request.body);
        return reply.code(202).send({ id: created.id, state: created.state, deduplicated: !created.created });
      },
    });

    app.route({
      ...routeOptions(R.submitBatch),
      handler: async (request, reply) => {
        const results = await deps.tasks.submitMany(request.body.tasks);
        return reply.code(202).send({
          tasks: results.map((r) => ({ id: r.id, state: r.state, deduplicated: !r.created })),
        });
      },
    });

    app.route({
      ...routeOptions(R.list),
      handler: async (request) => {
        const q = request.query;
        return deps.taskOperator.list({
          state: q.state,
          type: q.type,
          agentId: q.agentId,
          runId: q.runId,
          createdAfter: isoTime(q.createdAfter, "createdAfter"),
          createdBefore: isoTime(q.createdBefore, "createdBefore"),
          before: q.before,
          limit: pageLimit(q.limit),
        });
      },
    });

    app.route({
      ...routeOptions(R.cancel),
      handler: async (request) =>
        deps.taskOperator.cancel(request.params.id, request.body?.reason, {
          actor: actorOf(request),
          requestId: request.id,
        }),
    });

    app.route({
      ...routeOptions(R.priority),
      handler: async (request) =>
        deps.taskOperator.setPriority(request.params.id, request.body, {
          actor: actorOf(request),
          requestId: request.id,
        }),
    });

    app.route({
      ...routeOptions(R.get),
      handler: async (request) => deps.tasks.get(request.params.id),
    });

    app.route({
      ...routeOptions(R.retry),
      handler: async (request, reply) => {
        // Audited like the coordination retry: the caller as principal, the request id as Fastify's.
        await deps.tasks.retryByOperator(
          request.params.id,
          {},
          { actor: actorOf(request), requestId: request.id },
        );
        return reply.code(202).send({ ok: true });
      },
    });

    app.route({
      ...routeOptions(R.progress),
      handler: async (request) => {
        const b = request.body;
        await deps.tasks.progress(
          request.params.id,
          b.leaseToken,
          agentOf(request.principal),
          b.percent,
          b.message,
        );
        return { ok: true };
      },
    });

    app.route({
      ...routeOptions(R.complete),
      handler: async (request) => {
        const b = request.body;
        await deps.tasks.complete(
          request.params.id,
          b.leaseToken,
          agentOf(request.principal),
          b.result,
          b.traceparent,
        );
        return { ok: true };
      },
    });

    app.route({
      ...routeOptions(R.fail),
      handler: async (request) => {
        const b = request.body;
        await deps.tasks.fail(
          request.params.id,
          b.leaseToken,
          agentOf(request.principal),
          b.error,
          b.traceparent,
        );
        return { ok: true };
      },
    });

    app.route({
      ...routeOptions(R.release),
      handler: async (request) => {
        await deps.tasks.release(request.params.id, request.body.leaseToken, agentOf(request.principal));
        return { ok: true };
      },
    });
  };
}
