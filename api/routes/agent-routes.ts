import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { AGENT_ROUTES as R } from "../../contract/routes/agents.ts";
import type { ApiDeps } from "../api-deps.ts";
import { claimReply } from "../claim-reply.ts";
import { actingAgent } from "../request-guards.ts";
import { routeOptions } from "../route-options.ts";

/** The agent protocol: register, heartbeat, claim (long-poll), deregister. */
export function agentRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.route({
      ...routeOptions(R.register),
      handler: async (request, reply) => {
        const agent = await deps.agents.register(request.body);
        return reply.code(201).send({
          id: agent.id,
          token: deps.auth.agentToken(agent.id),
          heartbeatIntervalMs: deps.config.heartbeatIntervalMs,
          leaseTimeoutMs: deps.config.agentDeadAfterMs,
        });
      },
    });

    app.route({
      ...routeOptions(R.heartbeat),
      handler: async (request) => {
        actingAgent(request.principal, request.params.id);
        return deps.agents.heartbeat(request.params.id, request.body);
      },
    });

    app.route({
      ...routeOptions(R.claim),
      handler: async (request, reply) => {
        const agentId = request.params.id;
        actingAgent(request.principal, agentId);
        const agent = await deps.agents.claimant(agentId);
        if (!agent) return { tasks: [] };
        const hangup = new AbortController();
        reply.raw.on("close", () => {
          if (!reply.raw.writableEnded) hangup.abort();
        });
        const max = Math.min(request.body.max ?? 1, agent.concurrency);
        const waitMs = Math.min(request.body.waitMs ?? 0, deps.config.claimMaxWaitMs);
        const leases = await deps.tasks.claim(agent, max, waitMs, hangup.signal);
        return claimReply(leases);
      },
    });

    app.route({
      ...routeOptions(R.deregister),
      handler: async (request, reply) => {
        actingAgent(request.principal, request.params.id);
        await deps.agents.deregister(request.params.id);
        return reply.code(204).send(null);
      },
    });
  };
}
