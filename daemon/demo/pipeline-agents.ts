import { setTimeout as delay } from "node:timers/promises";
import type { TaskHandler } from "../../sdk/task-run.ts";

/**
 * Demo handlers for the built-in `mission` and `story` templates: simulated work through the real
 * protocol (claims, progress, completion). Outputs say they are simulated; nothing pretends to be
 * a real tool or model.
 */
interface StepPayload {
  pipeline?: { runId: string; stepId: string; template: string };
  input?: Record<string, unknown>;
  params?: Record<string, unknown>;
  upstream?: Record<string, unknown>;
}

function worker(workMs: () => number, produce: (p: StepPayload) => Record<string, unknown>): TaskHandler {
  return async (ctx) => {
    const payload = (ctx.payload ?? {}) as StepPayload;
    const total = workMs();
    for (let i = 1; i <= 4; i++) {
      await delay(total / 4, undefined, { signal: ctx.signal });
      await ctx.progress(25 * i, `${payload.pipeline?.stepId ?? "step"}: part ${i} of 4`);
    }
    return { simulated: true, ...produce(payload) };
  };
}

const text = (p: StepPayload, key: string) => String(p.input?.[key] ?? "");

export function pipelineHandlers(workMs: () => number = () => 200 + Math.floor(Math.random() * 600)) {
  return {
    "mission.classify": worker(workMs, (p) => {
      const request = text(p, "request").toLowerCase();
      const intent = /report|summar/.test(request)
        ? "report"
        : /search|find/.test(request)
          ? "search"
          : "general";
      return { intent };
    }),
    "mission.select-tool": worker(workMs, (p) => {
      const intent = (p.upstream?.intent as { intent?: string } | undefined)?.intent;
      return { tool: intent === "search" ? "web-search" : "writer", params: p.params ?? {} };
    }),
    "mission.run-tool": worker(workMs, (p) => ({
      tool: (p.upstream?.tool_selection as { tool?: string } | undefined)?.tool ?? "writer",
      result: `simulated output for: ${text(p, "request").slice(0, 200)}`,
    })),
    "story.pm": worker(workMs, (p) => ({ requirements: [`As a user: ${text(p, "story").slice(0, 200)}`] })),
    "story.architect": worker(workMs, (p) => ({ note: `architecture step ${p.pipeline?.stepId}` })),
    "story.developer": worker(workMs, () => ({ changedFiles: 3 })),
    "story.frontend": worker(workMs, () => ({ components: 2 })),
    "story.tester": worker(workMs, () => ({ testsWritten: 5 })),
    "story.reviewer": worker(workMs, () => ({ approved: true })),
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
    "draft a status update",
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
