import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { LLM_ROUTES as R } from "../../contract/routes/llm.ts";
import { OverseerError } from "../../daemon/errors/overseer-error.ts";
import type { ApiDeps } from "../api-deps.ts";
import { pageLimit } from "../paging.ts";
import { routeOptions } from "../route-options.ts";

/** Agents record their own calls; operators name the agent. */
const callerOf = (request: FastifyRequest) =>
  request.principal?.kind === "agent" ? { agentId: request.principal.agentId } : {};

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
    app.route({
      ...routeOptions(R.recordCalls),
      attachValidation: true,
      handler: async (request, reply) => {
        if (request.validationError) throw schemaError(request.validationError);
        return reply.code(202).send(await deps.llmCalls.record(request.body, callerOf(request)));
      },
    });
    app.route({
      ...routeOptions(R.runCalls),
      handler: async (request) =>
        deps.llmCalls.ofRun(request.params.id, request.query.before, pageLimit(request.query.limit)),
    });
  };
}
