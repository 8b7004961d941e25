import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { ErrorBody } from "../../contract/errors.ts";
import {
  ArtifactBody,
  CompleteConversationBody,
  ConversationBody,
  MessageBody,
} from "../../contract/schemas/artifacts.ts";
import { AnyJson, IdParams } from "../../contract/schemas/common.ts";
import type { ApiDeps } from "../api-deps.ts";
import { actorOf } from "./pipeline-routes.ts";

/** Agents are restricted to steps they hold; operators are not. */
const callerOf = (request: FastifyRequest) =>
  request.principal?.kind === "agent" ? { agentId: request.principal.agentId } : {};

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

/** Artifacts and conversations of pipeline runs: written by agents and operators, read by viewers. */
export function artifactRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    const a = deps.artifacts;
    const tags = ["artifacts and conversations"];

    app.post(
      "/pipelines/runs/:id/artifacts",
      {
        config: { auth: "agent-or-operator" },
        schema: { tags, params: IdParams, body: ArtifactBody, response: { 201: AnyJson, ...errors } },
      },
      async (request, reply) =>
        reply
          .code(201)
          .send(await a.createArtifact(request.params.id, request.body, actorOf(request), callerOf(request))),
    );
    app.get(
      "/pipelines/runs/:id/artifacts",
      {
        config: { auth: "viewer" },
        schema: { tags, params: IdParams, response: { 200: AnyJson, ...errors } },
      },
      async (request) => a.listArtifacts(request.params.id),
    );
    app.get(
      "/artifacts/:id",
      {
        config: { auth: "viewer" },
        schema: { tags, params: IdParams, response: { 200: AnyJson, ...errors } },
      },
      async (request) => a.getArtifact(request.params.id),
    );

    app.post(
      "/pipelines/runs/:id/conversations",
      {
        config: { auth: "agent-or-operator" },
        schema: { tags, params: IdParams, body: ConversationBody, response: { 201: AnyJson, ...errors } },
      },
      async (request, reply) =>
        reply.code(201).send(await a.openConversation(request.params.id, request.body, callerOf(request))),
    );
    app.get(
      "/pipelines/runs/:id/conversations",
      {
        config: { auth: "viewer" },
        schema: { tags, params: IdParams, response: { 200: AnyJson, ...errors } },
      },
      async (request) => a.listConversations(request.params.id),
    );
    app.get(
      "/conversations/:id",
      {
        config: { auth: "viewer" },
        schema: { tags, params: IdParams, response: { 200: AnyJson, ...errors } },
      },
      async (request) => a.getConversation(request.params.id),
    );
    app.post(
      "/conversations/:id/messages",
      {
        config: { auth: "agent-or-operator" },
        schema: { tags, params: IdParams, body: MessageBody, response: { 201: AnyJson, ...errors } },
      },
      async (request, reply) =>
        reply
          .code(201)
          .send(await a.addMessage(request.params.id, request.body, actorOf(request), callerOf(request))),
    );
    app.post(
      "/conversations/:id/complete",
      {
        config: { auth: "agent-or-operator" },
        schema: {
          tags,
          params: IdParams,
          body: CompleteConversationBody,
          response: { 200: AnyJson, ...errors },
        },
      },
      async (request) =>
        a.completeConversation(request.params.id, request.body.summary, actorOf(request), callerOf(request)),
    );
  };
}
