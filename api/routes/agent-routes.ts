import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { ErrorBody } from "../../contract/errors.ts";
import {
  ClaimBody,
  ClaimReply,
  HeartbeatBody,
  HeartbeatReply,
  RegisterBody,
  RegisterReply,
} from "../../contract/schemas/agents.ts";
import { IdParams } from "../../contract/schemas/common.ts";
import type { ApiDeps } from "../api-deps.ts";
import { actingAgent } from "../request-guards.ts";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

/** The agent protocol: register, heartbeat, claim (long-poll), deregister. */
export function agentRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/agents/register",
      {
        config: { auth: "register" },
        schema: { tags: ["agents"], body: RegisterBody, response: { 201: RegisterReply, ...errors } },
      },
      async (request, reply) => {
        const agent = await deps.agents.register(request.body);
        return reply.code(201).send({
          id: agent.id,
          token: deps.auth.agentToken(agent.id),
          heartbeatIntervalMs: deps.config.heartbeatIntervalMs,
          leaseTimeoutMs: deps.config.agentDeadAfterMs,
        });
      },
    );

    app.post(
      "/agents/:id/heartbeat",
      {
        config: { auth: "agent" },
        schema: {
          tags: ["agents"],
          params: IdParams,
          body: HeartbeatBody,
          response: { 200: HeartbeatReply, ...errors },
        },
      },
      async (request) => {
        actingAgent(request.principal, request.params.id);
        return deps.agents.heartbeat(request.params.id, request.body);
      },
    );

    app.post(
      "/agents/:id/claim",
      {
        config: { auth: "agent" },
        schema: {
          tags: ["agents"],
          params: IdParams,
          body: ClaimBody,
          response: { 200: ClaimReply, ...errors },
        },
      },
      async (request, reply) => {
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
        return {
          tasks: leases.map((l) => ({
            id: l.id,
            type: l.type,
            payload: l.payload,
            attempt: l.attempt,
            leaseToken: l.leaseToken,
            timeoutMs: l.timeoutMs,
            ...(l.traceparent ? { traceparent: l.traceparent } : {}),
          })),
        };
      },
    );

    app.delete(
      "/agents/:id",
      {
        config: { auth: "agent-or-operator" },
        schema: { tags: ["agents"], params: IdParams, response: { 204: Type.Null(), ...errors } },
      },
      async (request, reply) => {
        actingAgent(request.principal, request.params.id);
        await deps.agents.deregister(request.params.id);
        return reply.code(204).send(null);
      },
    );
  };
}
