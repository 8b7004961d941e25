import { setTimeout as delay } from "node:timers/promises";
import type { TaskContext, TaskHandler } from "../sdk/task-run.ts";

/**
 * Demo handlers for the built-in `mission` and `story` templates: work through the real protocol
 * (claims, progress, completion). Each step asks the agent's LLM client (`ctx.llm`: the offline
 * provider unless OVERSEER_LLM_* names a real one), so every role's calls are recorded against the
 * run and step; the reviewer holds its review as a conversation. Outputs say what produced them.
 */
interface StepPayload {
  pipeline?: { runId: string; stepId: string; template: string };
  input?: Record<string, unknown>;
  params?: Record<string, unknown>;
  upstream?: Record<string, unknown>;
}

type Produce = (p: StepPayload, answer: LlmAnswer | null) => Record<string, unknown>;

/** What a step keeps of its model's answer (the text is truncated; tokens and cost are in llm_calls). */
interface LlmAnswer {
  source: string;
  model: string;
  text: string;
}

const text = (p: StepPayload, key: string) => String(p.input?.[key] ?? "");
const brief = (p: StepPayload) => text(p, "request") || text(p, "story");

async function ask(ctx: TaskContext, system: string, user: string, conversationId?: string) {
  if (!ctx.llm) return null;
  const r = await ctx.llm.complete(
    {
      messages: [
        { role: "system", content: system },
        { role: "user", content: user },
      ],
      maxTokens: 256,
    },
    conversationId ? { conversationId } : undefined,
  );
  return { source: r.source, model: r.model, text: r.text.slice(0, 300) };
}

function worker(workMs: () => number, system: string, produce: Produce): TaskHandler {
  return async (ctx) => {
    const payload = (ctx.payload ?? {}) as StepPayload;
    const step = payload.pipeline?.stepId ?? "step";
    const total = workMs();
    await delay(total / 2, undefined, { signal: ctx.signal });
    await ctx.progress(50, `${step}: asking the model`);
    const answer = await ask(ctx, system, `${step}: ${brief(payload).slice(0, 500)}`);
    await delay(total / 2, undefined, { signal: ctx.signal });
    await ctx.progress(100, `${step}: done`);
    return { simulated: true, ...(answer ? { llm: answer } : {}), ...produce(payload, answer) };
  };
}

/** The reviewer discusses the change in a conversation: two model turns, each recorded with it. */
function reviewer(workMs: () => number): TaskHandler {
  return async (ctx) => {
    const payload = (ctx.payload ?? {}) as StepPayload;
    const total = workMs();
    const thread = ctx.llm ? await ctx.conversation(`review of ${brief(payload).slice(0, 100)}`) : null;
    const turns: LlmAnswer[] = [];
    for (const [i, question] of ["Review the implementation.", "Any blocking issue left?"].entries()) {
      await delay(total / 2, undefined, { signal: ctx.signal });
      await thread?.say("user", question);
      const answer = await ask(ctx, "You review code changes.", question, thread?.id);
      if (answer) {
        turns.push(answer);
        await thread?.say("assistant", answer.text);
      }
      await ctx.progress(50 * (i + 1), `review: turn ${i + 1} of 2`);
    }
    await thread?.complete("review finished");
    return { simulated: true, approved: true, conversationId: thread?.id ?? null, turns: turns.length };
  };
}

export function pipelineHandlers(workMs: () => number = () => 200 + Math.floor(Math.random() * 600)) {
  return {
    "mission.classify": worker(workMs, "Classify the request's intent.", (p) => {
      const request = text(p, "request").toLowerCase();
      const intent = /report|summar/.test(request)
        ? "report"
        : /search|find/.test(request)
          ? "search"
          : "general";
      return { intent };
    }),
    "mission.select-tool": worker(workMs, "Pick a tool for the request.", (p) => {
      const intent = (p.upstream?.intent as { intent?: string } | undefined)?.intent;
      return { tool: intent === "search" ? "web-search" : "writer", params: p.params ?? {} };
    }),
    "mission.run-tool": worker(workMs, "Carry out the request with the tool.", (p, answer) => ({
      tool: (p.upstream?.tool_selection as { tool?: string } | undefined)?.tool ?? "writer",
      result: answer?.text ?? `simulated output for: ${text(p, "request").slice(0, 200)}`,
    })),
    "story.pm": worker(workMs, "Write requirements for the user story.", (p) => ({
      requirements: [`As a user: ${text(p, "story").slice(0, 200)}`],
    })),
    "story.architect": worker(workMs, "Plan the architecture.", (p) => ({
      note: `architecture step ${p.pipeline?.stepId}`,
    })),
    "story.developer": worker(workMs, "Implement the backend.", () => ({ changedFiles: 3 })),
    "story.frontend": worker(workMs, "Implement the frontend.", () => ({ components: 2 })),
    "story.tester": worker(workMs, "Write the tests.", () => ({ testsWritten: 5 })),
    "story.reviewer": reviewer(workMs),
  } satisfies Record<string, TaskHandler>;
}

/** Roles of the demo fleet's pipeline agents and the step capabilities each takes. */
export const PIPELINE_ROLES: Array<{ role: string; capabilities: string[] }> = [
  { role: "classifier", capabilities: ["mission.classify"] },
  { role: "tool-runner", capabilities: ["mission.select-tool", "mission.run-tool"] },
  { role: "pm", capabilities: ["story.pm"] },
  { role: "architect", capabilities: ["story.architect"] },
  { role: "developer", capabilities: ["story.developer"] },
  { role: "frontend", capabilities: ["story.frontend"] },
  { role: "tester", capabilities: ["story.tester"] },
  { role: "reviewer", capabilities: ["story.reviewer"] },
];

/** Starts a `mission` run every `everyMs` and a `story` run every third time, through the API. */
export function startPipelineStream(
  url: string,
  operatorToken: string,
  everyMs: number,
  logger: { warn(obj: object, msg: string): void },
): () => void {
  let stopped = false;
  let n = 0;
  const requests = [
    "summarize the incident report",
    "search the runbooks for redis failover",
    // An address in a prompt: the export shows it redacted ([REDACTED_EMAIL]) unless ?redact=false.
    "draft a status update for oncall@example.com",
  ];
  void (async () => {
    while (!stopped) {
      n++;
      const [template, input] =
        n % 3 === 0
          ? ["story", { story: `story ${n}: users can export their data` }]
          : ["mission", { request: requests[n % requests.length] as string }];
      try {
        const r = await fetch(`${url}/api/pipelines/${template}/runs`, {
          method: "POST",
          headers: { authorization: `Bearer ${operatorToken}`, "content-type": "application/json" },
          body: JSON.stringify({ input }),
        });
        if (r.status !== 202) logger.warn({ status: r.status, template }, "demo: run refused");
      } catch (error) {
        if (!stopped) logger.warn({ err: error }, "demo: run submission failed");
      }
      await delay(everyMs);
    }
  })();
  return () => {
    stopped = true;
  };
}
