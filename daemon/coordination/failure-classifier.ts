/**
 * Pure classification of failed attempts by pattern (docs/coordination.md). Input is what Postgres
 * keeps of an attempt: its outcome and the error the agent reported (category, message, code).
 * The order of the checks is the documented precedence: what the daemon itself observed (a lost
 * agent, an overrun lease) wins over text, and specific causes win over generic words.
 */

import { FAILURE_CLASSES } from "../../contract/schemas/coordination.ts";

// The classes are part of the contract (each is a value of GET /api/dashboard/coordination/failures).
export { FAILURE_CLASSES };
export type FailureClass = (typeof FAILURE_CLASSES)[number];

export interface FailureFacts {
  /** The attempt's outcome: failed, timed_out or lost (anything else is not a failure). */
  outcome: string;
  category?: string | null;
  message?: string | null;
  code?: string | null;
}

/** Categories agents send (docs/agent-protocol.md) that name a class outright. */
const CATEGORY_CLASS: Record<string, FailureClass> = {
  lost_heartbeat: "lost_agent",
  agent_crash: "lost_agent",
  timeout: "timeout",
  timed_out: "timeout",
  rate_limit: "llm_provider",
  rate_limited: "llm_provider",
  llm: "llm_provider",
  llm_error: "llm_provider",
  provider: "llm_provider",
  provider_error: "llm_provider",
  validation: "validation",
  invalid_input: "validation",
  budget: "budget",
  budget_exceeded: "budget",
  serialization: "serialization",
  redis: "redis_connection",
  connection: "redis_connection",
  network: "redis_connection",
};

/** Text patterns, tried in this order over "code category message" (lower case). */
const TEXT_RULES: Array<[FailureClass, RegExp]> = [
  ["budget", /\bbudget|spend(ing)? limit|cost limit|over budget/],
  [
    "llm_provider",
    /rate[ _-]?limit|too many requests|\b429\b|\bllm\b|openai|anthropic|ollama|\bprovider\b|model (is )?overloaded|overloaded_error|context length|max(imum)? tokens/,
  ],
  [
    "redis_connection",
    /redis|econnrefused|econnreset|etimedout|enotfound|ehostunreach|epipe|socket hang up|connection (refused|reset|closed|lost|error)|network error/,
  ],
  [
    "serialization",
    /serializ|deserializ|\bjson\b|unexpected token|parse error|could not parse|circular structure|invalid utf/,
  ],
  [
    "validation",
    /validat|invalid (input|payload|argument|parameter)|schema|missing (field|property)|is required|bad request/,
  ],
  ["timeout", /time[d ]?out|deadline exceeded/],
];

/** The class of one failed attempt. */
export function classifyFailure(f: FailureFacts): FailureClass {
  if (f.outcome === "lost") return "lost_agent";
  if (f.outcome === "timed_out") return "timeout";
  const category = (f.category ?? "").trim().toLowerCase();
  const byCategory = CATEGORY_CLASS[category];
  if (byCategory) return byCategory;
  const text = `${f.code ?? ""} ${category} ${f.message ?? ""}`.toLowerCase();
  for (const [cls, pattern] of TEXT_RULES) if (pattern.test(text)) return cls;
  return "unknown";
}

/** What an operator can do about each class, naming Overseer's own levers. */
export const RECOMMENDATIONS: Record<FailureClass, string> = {
  redis_connection:
    'Agents or the daemon lost Redis: check the stores component of GET /api/dashboard/coordination/diagnostics and /readyz; once Redis answers, POST /api/dashboard/coordination/reset {level: "soft"} re-queues what Redis lost (hard also rebuilds the lease and heartbeat mirrors).',
  serialization:
    "A payload or result does not round-trip as JSON: open the examples with GET /api/tasks/:id, fix the producer or the agent's parser, then POST /api/dashboard/tasks/:id/retry.",
  timeout:
    "Attempts overran their lease (timeoutMs): submit with a larger timeoutMs (POST /api/tasks) or raise OVERSEER_DEFAULT_TASK_TIMEOUT_MS, and compare agents' mean durations with GET /api/dashboard/agents/:id/metrics.",
  lost_agent:
    "Agents died holding leases (no heartbeat for OVERSEER_AGENT_DEAD_AFTER_MS): look at GET /api/dashboard/agents/heartbeat and GET /api/dashboard/agents/status?state=dead; if agents are only slow to beat, raise OVERSEER_AGENT_DEAD_AFTER_MS.",
  llm_provider:
    "The model provider rate-limits or errors: lower the agents' concurrency, check provider errors in GET /api/metrics/usage, and retry the dead tasks later with POST /api/dashboard/tasks/:id/retry.",
  validation:
    "Agents reject the task input: retrying unchanged fails again. Inspect the examples with GET /api/tasks/:id and submit corrected tasks (POST /api/tasks).",
  budget:
    "A budget blocks the work: see GET /api/metrics/costs/budget and GET /api/budgets/approvals, raise the limit (PATCH /api/budgets/:id) or approve, then retry with POST /api/dashboard/tasks/:id/retry.",
  unknown:
    "The agents report no recognisable cause: have them send error.category and a message (docs/agent-protocol.md), and read the examples with GET /api/tasks/:id.",
};
