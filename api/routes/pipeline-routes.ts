import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { ErrorBody } from "../../contract/errors.ts";
import { AnyJson, IdParams } from "../../contract/schemas/common.ts";
import {
  BudgetDecisionBody,
  EscalateBody,
  ExecuteBody,
  ExecuteReply,
  ModifyInputBody,
  ReasonBody,
  RunListQuery,
  SkipBody,
  SnoozeBody,
  StepParams,
  TemplateBody,
  TemplateParams,
  TemplateVersionQuery,
} from "../../contract/schemas/pipelines.ts";
import type { RunAction } from "../../daemon/pipelines/pipeline-service.ts";
import type { TemplateDefinition } from "../../daemon/pipelines/template-types.ts";
import type { ApiDeps } from "../api-deps.ts";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

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

    app.get(
      "/pipelines/templates",
      { config: { auth: "viewer" }, schema: { tags: ["pipelines"], response: { 200: AnyJson, ...errors } } },
      async () => ({ templates: await p.listTemplates() }),
    );

    app.get(
      "/pipelines/templates/:template",
      {
        config: { auth: "viewer" },
        schema: {
          tags: ["pipelines"],
          params: TemplateParams,
          querystring: TemplateVersionQuery,
          response: { 200: AnyJson, ...errors },
        },
      },
      async (request) =>
        p.getTemplate(
          request.params.template,
          request.query.version ? Number(request.query.version) : undefined,
        ),
    );

    app.put(
      "/pipelines/templates/:template",
      {
        config: { auth: "operator" },
        schema: {
          tags: ["pipelines"],
          params: TemplateParams,
          body: TemplateBody,
          response: { 200: AnyJson, 201: AnyJson, ...errors },
        },
      },
      async (request, reply) => {
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
        return reply.code(saved.created ? 201 : 200).send({ ...saved.template, created: saved.created });
      },
    );

    app.post(
      "/pipelines/:template/runs",
      {
        config: { auth: "operator", intake: true },
        schema: {
          tags: ["pipelines"],
          params: TemplateParams,
          body: ExecuteBody,
          response: { 202: ExecuteReply, ...errors },
        },
      },
      async (request, reply) => {
        const run = await p.execute(request.params.template, request.body);
        return reply.code(202).send({ id: run.id, deduplicated: !run.created });
      },
    );

    app.get(
      "/pipelines/runs",
      {
        config: { auth: "viewer" },
        schema: { tags: ["pipelines"], querystring: RunListQuery, response: { 200: AnyJson, ...errors } },
      },
      async (request) => {
        const q = request.query;
        return p.list({
          ...q,
          limit: Math.min(500, Number(q.limit ?? 50)),
          offset: Number(q.offset ?? 0),
        } as Parameters<typeof p.list>[0]);
      },
    );

    app.get(
      "/pipelines/runs/:id",
      {
        config: { auth: "viewer" },
        schema: { tags: ["pipelines"], params: IdParams, response: { 200: AnyJson, ...errors } },
      },
      async (request) => p.view(request.params.id),
    );

    const action = (
      path: string,
      body: object | null,
      toAction: (request: FastifyRequest) => RunAction,
      params: object = IdParams,
    ) =>
      app.post(
        `/pipelines/runs/:id/${path}`,
        {
          config: { auth: "operator" },
          schema: {
            tags: ["pipeline actions"],
            params,
            ...(body ? { body } : {}),
            response: { 200: AnyJson, ...errors },
          },
        },
        async (request) => p.act((request.params as { id: string }).id, toAction(request), actorOf(request)),
      );

    type B<T> = { body: T };
    action("pause", ReasonBody, () => ({ kind: "pause" }));
    action("resume", ReasonBody, () => ({ kind: "resume" }));
    action("cancel", ReasonBody, (r) => ({
      kind: "cancel",
      reason: (r as unknown as B<{ reason?: string }>).body.reason,
    }));
    action("snooze", SnoozeBody, (r) => ({
      kind: "snooze",
      until: new Date((r as unknown as B<{ until: string }>).body.until),
    }));
    action("escalate", EscalateBody, (r) => ({
      kind: "escalate",
      ...(r as unknown as B<{ priority?: number; reason?: string }>).body,
    }));
    action(
      "steps/:stepId/retry",
      ReasonBody,
      (r) => ({ kind: "retry-step", stepId: (r.params as { stepId: string }).stepId }),
      StepParams,
    );
    action(
      "steps/:stepId/skip",
      SkipBody,
      (r) => ({
        kind: "skip-step",
        stepId: (r.params as { stepId: string }).stepId,
        reason: (r as unknown as B<{ reason: string }>).body.reason,
      }),
      StepParams,
    );
    action(
      "steps/:stepId/input",
      ModifyInputBody,
      (r) => ({
        kind: "modify-input",
        stepId: (r.params as { stepId: string }).stepId,
        params: (r as unknown as B<{ params: Record<string, unknown> }>).body.params,
      }),
      StepParams,
    );
    for (const [path, kind] of [
      ["approve-budget", "approve-budget"],
      ["reject-budget", "reject-budget"],
    ] as const) {
      action(
        `steps/:stepId/${path}`,
        BudgetDecisionBody,
        (r) => ({
          kind,
          stepId: (r.params as { stepId: string }).stepId,
          ...(r as unknown as B<{ comment?: string }>).body,
        }),
        StepParams,
      );
    }
  };
}
