import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { ErrorBody } from "../../contract/errors.ts";
import { LlmCallsBody, LlmCallsReply } from "../../contract/schemas/llm.ts";
import { OverseerError } from "../../daemon/errors/overseer-error.ts";
import type { ApiDeps } from "../api-deps.ts";

/** Agents record their own calls; operators name the agent. */
const callerOf = (request: FastifyRequest) =>
  request.principal?.kind === "agent" ? { agentId: request.principal.agentId } : {};

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

/** The body failed its schema: a 400 that names the first bad record's index (and the field). */
function schemaError(error: Error & { validation: Array<{ instancePath?: string }> }): OverseerError {
  const path = error.validation[0]?.instancePath ?? "";
  const m = /^\/calls\/(\d+)(\/.*)?$/.exec(path);
  if (!m) return new OverseerError("OVS_ERR_VALIDATION", error.message, { field: path || undefined });
  const index = Number(m[1]);
  const field = (m[2] ?? "").slice(1).replaceAll("/", ".");
  return new OverseerError("OVS_ERR_VALIDATION", `calls[${index}]: ${error.message}`, {
    index,
    ...(field ? { field } : {}),
  });
}

/** LLM call records: what agents' LLM clients did, for cost, latency and error accounting. */
export function llmRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ["llm calls"];
    app.post(
      "/llm/calls",
      {
        config: { auth: "agent-or-operator" },
        attachValidation: true,
        schema: { tags, body: LlmCallsBody, response: { 202: LlmCallsReply, ...errors } },
      },
      async (request, reply) => {
        if (request.validationError) throw schemaError(request.validationError);
        return reply.code(202).send(await deps.llmCalls.record(request.body, callerOf(request)));
      },
    );
  };
}
