import { defineRoute } from "../route.ts";
import {
  LlmCallsBody,
  LlmCallsReply,
  RunLlmCallsParams,
  RunLlmCallsQuery,
  RunLlmCallsReply,
} from "../schemas/llm.ts";

/** Recording LLM calls: what agents' LLM clients did, for cost, latency and error accounting. */
export const LLM_ROUTES = {
  recordCalls: defineRoute({
    method: "POST",
    url: "/api/llm/calls",
    operationId: "recordLlmCalls",
    summary:
      "Record a batch of LLM calls (all or none): an agent its own, an operator naming the agent; a repeated clientCallId is a duplicate",
    description:
      "A body that fails its schema is a 400 naming the first bad record's index (details.index) and field.",
    tag: "llm",
    auth: "agent-or-operator",
    body: LlmCallsBody,
    replies: { 202: LlmCallsReply },
    errors: [404],
  }),
  runCalls: defineRoute({
    method: "GET",
    url: "/api/pipelines/runs/:id/llm-calls",
    operationId: "listRunLlmCalls",
    summary: "A pipeline run's recorded LLM calls (metadata, no prompts), newest first; paged by before",
    description:
      "Paged by the convention of docs/paging.md: newest first by (at, id), limit 1 to 500 (100 when absent), total = every call of the run. 404 for a run that does not exist and has no calls. Prompts and responses: GET /api/llm/export?runId=.",
    tag: "llm",
    auth: "viewer",
    params: RunLlmCallsParams,
    querystring: RunLlmCallsQuery,
    replies: { 200: RunLlmCallsReply },
    errors: [404],
  }),
};
