import { defineRoute } from "../route.ts";
import { EXPORT_CONTENT_TYPES, ExportQuerystring, ExportText } from "../schemas/export.ts";

/** The training-data export of recorded LLM calls (operator: prompts and responses are sensitive). */
export const EXPORT_ROUTES = {
  trainingData: defineRoute({
    method: "GET",
    url: "/api/llm/export",
    operationId: "exportLlmCalls",
    summary: "Recorded LLM calls as training data, streamed in (at, id) order, redacted unless redact=false",
    description:
      "format=jsonl (the default) answers application/x-ndjson, format=json application/json, format=csv text/csv; each as an attachment. An unknown query parameter is a 400. A heavy read: at most OVERSEER_REPORT_MAX_PER_TOKEN per token and OVERSEER_REPORT_MAX_TOTAL in all run at once on a replica; past either, 429 with Retry-After.",
    tag: "llm",
    auth: "operator",
    heavy: true,
    querystring: ExportQuerystring,
    replies: { 200: ExportText },
    produces: EXPORT_CONTENT_TYPES.jsonl,
  }),
};
