// `ctx.conversation(title)`: a thread attached to the pipeline step a task runs for. Messages and
// LLM calls made with its id (ctx.llm.complete(request, {conversationId})) show up on the run's
// timeline and in the cost breakdowns under that conversation.

import type { ApiCaller } from "./http-client.ts";

export interface TaskConversation {
  readonly id: string;
  /** Appends a message (role: user, assistant, system, tool, or an agent role name). */
  say(role: string, content: string, metadata?: Record<string, unknown>): Promise<void>;
  /** Closes the thread with an optional summary. */
  complete(summary?: string): Promise<void>;
}

export interface ConversationDeps {
  http: ApiCaller;
  token: string;
  signal: AbortSignal;
}

/** The pipeline run and step of a task, from its payload; undefined for a plain task. */
export function pipelineStepOf(payload: unknown): { runId: string; stepId: string } | undefined {
  const p = (payload as { pipeline?: { runId?: unknown; stepId?: unknown } } | null)?.pipeline;
  return typeof p?.runId === "string" && typeof p.stepId === "string"
    ? { runId: p.runId, stepId: p.stepId }
    : undefined;
}

export async function openConversation(
  deps: ConversationDeps,
  step: { runId: string; stepId: string },
  title: string,
): Promise<TaskConversation> {
  const opts = { token: deps.token, signal: deps.signal };
  const created = await deps.http.request<{ id: string }>(
    "POST",
    `/api/pipelines/runs/${encodeURIComponent(step.runId)}/conversations`,
    { ...opts, body: { stepId: step.stepId, title: title.slice(0, 256) } },
  );
  const path = `/api/conversations/${encodeURIComponent(created.id)}`;
  return {
    id: created.id,
    async say(role, content, metadata) {
      await deps.http.request("POST", `${path}/messages`, {
        ...opts,
        body: { role, content, ...(metadata ? { metadata } : {}) },
      });
    },
    async complete(summary) {
      await deps.http.request("POST", `${path}/complete`, {
        ...opts,
        body: summary === undefined ? {} : { summary },
      });
    },
  };
}
