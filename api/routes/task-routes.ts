import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { ErrorBody } from "../../contract/errors.ts";
import { AnyJson, IdParams, Ok } from "../../contract/schemas/common.ts";
import {
  CompleteBody,
  FailBody,
  ProgressBody,
  ReleaseBody,
  SubmitBody,
  SubmitReply,
} from "../../contract/schemas/tasks.ts";
import { OverseerError } from "../../daemon/errors/overseer-error.ts";
import type { ApiDeps } from "../api-deps.ts";
import type { Principal } from "../auth.ts";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

function agentOf(who: Principal | null): string {
  if (who?.kind !== "agent")
    throw new OverseerError("OVS_ERR_FORBIDDEN", "only the agent holding the lease may do this");
  return who.agentId;
}

/** Tasks: submit and inspect (operator/viewer), and the lease-holding agent's progress/complete/fail/release. */
export function taskRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/tasks",
      {
        config: { auth: "operator", intake: true },
        schema: { tags: ["tasks"], body: SubmitBody, response: { 202: SubmitReply, ...errors } },
      },
      async (request, reply) => {
        const created = await deps.tasks.submit(request.body);
        return reply.code(202).send({ id: created.id, state: created.state, deduplicated: !created.created });
      },
    );

    app.get(
      "/tasks/:id",
      {
        config: { auth: "viewer" },
        schema: { tags: ["tasks"], params: IdParams, response: { 200: AnyJson, ...errors } },
      },
      async (request) => deps.tasks.get(request.params.id),
    );

    app.post(
      "/tasks/:id/retry",
      {
        config: { auth: "operator" },
        schema: { tags: ["tasks"], params: IdParams, response: { 202: Ok, ...errors } },
      },
      async (request, reply) => {
        await deps.tasks.retryByOperator(request.params.id);
        return reply.code(202).send({ ok: true });
      },
    );

    app.post(
      "/tasks/:id/progress",
      {
        config: { auth: "agent" },
        schema: { tags: ["tasks"], params: IdParams, body: ProgressBody, response: { 200: Ok, ...errors } },
      },
      async (request) => {
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
    );

    app.post(
      "/tasks/:id/complete",
      {
        config: { auth: "agent" },
        schema: { tags: ["tasks"], params: IdParams, body: CompleteBody, response: { 200: Ok, ...errors } },
      },
      async (request) => {
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
    );

    app.post(
      "/tasks/:id/fail",
      {
        config: { auth: "agent" },
        schema: { tags: ["tasks"], params: IdParams, body: FailBody, response: { 200: Ok, ...errors } },
      },
      async (request) => {
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
    );

    app.post(
      "/tasks/:id/release",
      {
        config: { auth: "agent" },
        schema: { tags: ["tasks"], params: IdParams, body: ReleaseBody, response: { 200: Ok, ...errors } },
      },
      async (request) => {
        await deps.tasks.release(request.params.id, request.body.leaseToken, agentOf(request.principal));
        return { ok: true };
      },
    );
  };
}
