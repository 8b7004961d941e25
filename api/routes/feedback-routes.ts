import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { ErrorBody } from "../../contract/errors.ts";
import { AnyJson, Uuid } from "../../contract/schemas/common.ts";
import { OverseerError } from "../../daemon/errors/overseer-error.ts";
import type { FeedbackTarget } from "../../daemon/feedback/feedback-service.ts";
import type { ApiDeps } from "../api-deps.ts";
import { actorOf } from "./pipeline-routes.ts";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

const FeedbackBody = Type.Object(
  {
    runId: Type.Optional(Uuid),
    stepId: Type.Optional(Type.String({ pattern: "^[a-z][a-z0-9_-]{0,63}$" })),
    callId: Type.Optional(Uuid),
    score: Type.Integer({ minimum: 1, maximum: 5, description: "1 (bad) to 5 (good)" }),
    comment: Type.Optional(Type.String({ minLength: 1, maxLength: 4_000 })),
  },
  { additionalProperties: false },
);

const FeedbackQuery = Type.Object(
  {
    runId: Type.Optional(Uuid),
    callId: Type.Optional(Uuid),
    limit: Type.Optional(
      Type.String({ pattern: "^(?:[1-9][0-9]{0,2}|1000)$", description: "1..1000, default 100" }),
    ),
  },
  { additionalProperties: false },
);

/** Rates exactly one thing: a run, a step of a run (runId + stepId), or an LLM call (callId). */
function targetOf(b: { runId?: string; stepId?: string; callId?: string }): FeedbackTarget {
  if (b.callId !== undefined) {
    if (b.runId !== undefined || b.stepId !== undefined) {
      throw new OverseerError(
        "OVS_ERR_VALIDATION",
        "rate either a call (callId) or a run or step (runId), not both",
        {
          field: "callId",
        },
      );
    }
    return { kind: "llm_call", callId: b.callId };
  }
  if (b.runId === undefined) {
    throw new OverseerError("OVS_ERR_VALIDATION", "name what is rated: runId, runId + stepId, or callId", {
      field: "runId",
    });
  }
  return b.stepId === undefined
    ? { kind: "run", runId: b.runId }
    : { kind: "step", runId: b.runId, stepId: b.stepId };
}

/** Feedback on runs, steps and LLM calls: it joins the KPIs and the training-data export. */
export function feedbackRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ["feedback"];
    app.post(
      "/feedback",
      {
        config: { auth: "operator" },
        schema: { tags, body: FeedbackBody, response: { 201: AnyJson, ...errors } },
      },
      async (request, reply) => {
        const { score, comment } = request.body;
        const row = await deps.feedback.record(
          { target: targetOf(request.body), score, ...(comment ? { comment } : {}) },
          actorOf(request),
        );
        return reply.code(201).send(row);
      },
    );
    app.get(
      "/feedback",
      {
        config: { auth: "viewer" },
        schema: { tags, querystring: FeedbackQuery, response: { 200: AnyJson, ...errors } },
      },
      async (request) => {
        const q = request.query;
        return {
          feedback: await deps.feedback.list({
            ...(q.runId ? { runId: q.runId } : {}),
            ...(q.callId ? { callId: q.callId } : {}),
            limit: q.limit ? Number(q.limit) : 100,
          }),
        };
      },
    );
  };
}
