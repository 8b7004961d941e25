import { defineRoute } from "../route.ts";
import { LlmCallsBody, LlmCallsReply } from "../schemas/llm.ts";

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
};
