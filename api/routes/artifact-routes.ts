import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { ARTIFACT_ROUTES as R } from "../../contract/routes/artifacts.ts";
import type { ApiDeps } from "../api-deps.ts";
import { routeOptions } from "../route-options.ts";
import { actorOf } from "./pipeline-routes.ts";

/** Agents are restricted to steps they hold; operators are not. */
const callerOf = (request: FastifyRequest) =>
  request.principal?.kind === "agent" ? { agentId: request.principal.agentId } : {};

/** Artifacts and conversations of pipeline runs: written by agents and operators, read by viewers. */
export function artifactRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    const a = deps.artifacts;

    app.route({
      ...routeOptions(R.createArtifact),
      handler: async (request, reply) =>
        reply
          .code(201)
          .send(await a.createArtifact(request.params.id, request.body, actorOf(request), callerOf(request))),
    });
    app.route({
      ...routeOptions(R.listArtifacts),
      handler: async (request) => a.listArtifacts(request.params.id),
    });
    app.route({
      ...routeOptions(R.getArtifact),
      handler: async (request) => a.getArtifact(request.params.id),
    });

    app.route({
      ...routeOptions(R.openConversation),
      handler: async (request, reply) =>
        reply.code(201).send(await a.openConversation(request.params.id, request.body, callerOf(request))),
    });
    app.route({
      ...routeOptions(R.listConversations),
      handler: async (request) => a.listConversations(request.params.id),
    });
    app.route({
      ...routeOptions(R.getConversation),
      handler: async (request) => a.getConversation(request.params.id),
    });
    app.route({
      ...routeOptions(R.addMessage),
      handler: async (request, reply) =>
        reply
          .code(201)
          .send(await a.addMessage(request.params.id, request.body, actorOf(request), callerOf(request))),
    });
    app.route({
      ...routeOptions(R.completeConversation),
      handler: async (request) =>
        a.completeConversation(request.params.id, request.body.summary, actorOf(request), callerOf(request)),
    });
  };
}
