import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import type { Static } from "typebox";
import { PIPELINE_ROUTES as R } from "../../contract/routes/pipelines.ts";
import type {
  ExecuteReply,
  SavedTemplate,
  TemplateList,
  TemplateView,
} from "../../contract/schemas/pipelines.ts";
import type { RunAction } from "../../daemon/pipelines/run-actions.ts";
import type { TemplateDefinition } from "../../daemon/pipelines/template-types.ts";
import type { ApiDeps } from "../api-deps.ts";
import { routeOptions } from "../route-options.ts";

/** Who did it, for the audit log: the role or agent, plus an optional `X-Overseer-Actor` name. */
export function actorOf(request: FastifyRequest): string {
  const who = request.principal;
  const base = who?.kind === "agent" ? `agent:${who.agentId}` : who?.kind === "role" ? who.role : "unknown";
  const named = request.headers["x-overseer-actor"];
  const name = typeof named === "string" ? named.replace(/[^\w.@ -]/g, "").slice(0, 64) : "";
  return name ? `${base}:${name}` : base;
}

/** Templates, runs and run actions. */
export function pipelineRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    const p = deps.pipelines;
    const act = (request: FastifyRequest, runId: string, action: RunAction) =>
      p.act(runId, action, actorOf(request), request.id);

    app.route({
      ...routeOptions(R.listTemplates),
      handler: async (): Promise<Static<typeof TemplateList>> => ({ templates: await p.listTemplates() }),
    });

    app.route({
      ...routeOptions(R.getTemplate),
      handler: async (request): Promise<Static<typeof TemplateView>> =>
        p.getTemplate(
          request.params.template,
          request.query.version ? Number(request.query.version) : undefined,
        ),
    });

    app.route({
      ...routeOptions(R.saveTemplate),
      handler: async (request, reply) => {
        const def = request.body as TemplateDefinition;
        if (def.name !== request.params.template) {
          return reply.code(400).send({
            error: {
              code: "OVS_ERR_VALIDATION",
              message: "body.name must equal the template name in the path",
            },
          });
        }
        const saved = await p.saveTemplate(def, "api");
        const answer: Static<typeof SavedTemplate> = { ...saved.template, created: saved.created };
        return reply.code(saved.created ? 201 : 200).send(answer);
      },
    });

    app.route({
      ...routeOptions(R.execute),
      handler: async (request, reply) => {
        const run = await p.execute(request.params.template, request.body);
        const answer: Static<typeof ExecuteReply> = { id: run.id, deduplicated: !run.created };
        return reply.code(202).send(answer);
      },
    });

    app.route({
      ...routeOptions(R.listRuns),
      handler: async (request) => {
        const q = request.query;
        return p.list({
          ...q,
          limit: Math.min(500, Number(q.limit ?? 50)),
          offset: Number(q.offset ?? 0),
        });
      },
    });

    app.route({
      ...routeOptions(R.getRun),
      handler: async (request) => p.view(request.params.id),
    });

    app.route({
      ...routeOptions(R.pause),
      handler: async (request) =>
        act(request, request.params.id, { kind: "pause", reason: request.body.reason }),
    });
    app.route({
      ...routeOptions(R.resume),
      handler: async (request) =>
        act(request, request.params.id, { kind: "resume", reason: request.body.reason }),
    });
    app.route({
      ...routeOptions(R.cancel),
      handler: async (request) =>
        act(request, request.params.id, { kind: "cancel", reason: request.body.reason }),
    });
    app.route({
      ...routeOptions(R.snooze),
      handler: async (request) =>
        act(request, request.params.id, { kind: "snooze", until: new Date(request.body.until) }),
    });
    app.route({
      ...routeOptions(R.escalate),
      handler: async (request) => act(request, request.params.id, { kind: "escalate", ...request.body }),
    });
    app.route({
      ...routeOptions(R.retryStep),
      handler: async (request) =>
        act(request, request.params.id, {
          kind: "retry-step",
          stepId: request.params.stepId,
          reason: request.body.reason,
        }),
    });
    app.route({
      ...routeOptions(R.skipStep),
      handler: async (request) =>
        act(request, request.params.id, {
          kind: "skip-step",
          stepId: request.params.stepId,
          reason: request.body.reason,
        }),
    });
    app.route({
      ...routeOptions(R.modifyStepInput),
      handler: async (request) =>
        act(request, request.params.id, {
          kind: "modify-input",
          stepId: request.params.stepId,
          params: request.body.params,
        }),
    });
    app.route({
      ...routeOptions(R.approveBudget),
      handler: async (request) =>
        act(request, request.params.id, {
          kind: "approve-budget",
          stepId: request.params.stepId,
          ...request.body,
        }),
    });
    app.route({
      ...routeOptions(R.rejectBudget),
      handler: async (request) =>
        act(request, request.params.id, {
          kind: "reject-budget",
          stepId: request.params.stepId,
          ...request.body,
        }),
    });
  };
}
