import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { FEEDBACK_ROUTES as R } from "../../contract/routes/feedback.ts";
import type { FeedbackTarget } from "../../contract/schemas/feedback.ts";
import { OverseerError } from "../../daemon/errors/overseer-error.ts";
import type { ApiDeps } from "../api-deps.ts";
import { routeOptions } from "../route-options.ts";
import { actorOf } from "./pipeline-routes.ts";

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
    app.route({
      ...routeOptions(R.record),
      handler: async (request, reply) => {
        const { score, comment } = request.body;
        const row = await deps.feedback.record(
          { target: targetOf(request.body), score, ...(comment ? { comment } : {}) },
          actorOf(request),
        );
        return reply.code(201).send(row);
      },
    });
    app.route({
      ...routeOptions(R.list),
      handler: async (request) => {
        const q = request.query;
        return {
          feedback: await deps.feedback.list({
            ...(q.runId ? { runId: q.runId } : {}),
            ...(q.callId ? { callId: q.callId } : {}),
            limit: q.limit ? Number(q.limit) : 100,
          }),
        };
      },
    });
  };
}
