import { defineRoute } from "../route.ts";
import { FeedbackBody, FeedbackListReply, FeedbackQuery, FeedbackView } from "../schemas/feedback.ts";

/** Feedback on runs, steps and LLM calls: it joins the KPIs and the training-data export. */
export const FEEDBACK_ROUTES = {
  record: defineRoute({
    method: "POST",
    url: "/api/feedback",
    operationId: "recordFeedback",
    summary: "Rate a run (runId), a step of a run (runId + stepId) or an LLM call (callId), 1 to 5",
    tag: "feedback",
    auth: "operator",
    body: FeedbackBody,
    replies: { 201: FeedbackView },
    errors: [404],
  }),
  list: defineRoute({
    method: "GET",
    url: "/api/feedback",
    operationId: "listFeedback",
    summary: "Ratings of a run (its steps' included) or of a call, newest first",
    tag: "feedback",
    auth: "viewer",
    querystring: FeedbackQuery,
    replies: { 200: FeedbackListReply },
  }),
};
