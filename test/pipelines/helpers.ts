import { PIPELINE_ROLES, pipelineHandlers } from "../../demo/pipeline-agents.ts";
import { Agent } from "../../sdk/agent.ts";
import type { LlmClient } from "../../sdk/llm/llm-client.ts";
import type { TaskHandler } from "../../sdk/task-run.ts";
import { eventually, type TestDaemon } from "../helpers/daemon-harness.ts";
import { TOKENS } from "../helpers/test-env.ts";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** In-process SDK agents for every pipeline role; `overrides` replaces handlers by capability. */
export async function startPipelineAgents(
  d: TestDaemon,
  opts: {
    workMs?: number;
    overrides?: Record<string, TaskHandler>;
    concurrency?: number;
    /** Gives handlers `ctx.llm` (the demo handlers then ask it at every step). */
    llm?: LlmClient;
    /** Records' flush interval; the agents' default is 1 s. */
    llmFlushMs?: number;
  } = {},
): Promise<Agent[]> {
  const handlers = { ...pipelineHandlers(() => opts.workMs ?? 20), ...(opts.overrides ?? {}) } as Record<
    string,
    TaskHandler
  >;
  const agents: Agent[] = [];
  for (const spec of PIPELINE_ROLES) {
    const agent = new Agent({
      url: d.url,
      agentSecret: TOKENS.agentSecret,
      name: `${spec.role}-t`,
      role: spec.role,
      handlers: Object.fromEntries(spec.capabilities.map((c) => [c, handlers[c] as TaskHandler])),
      concurrency: opts.concurrency ?? 4,
      ...(opts.llm
        ? { llm: opts.llm, recordLlmContent: true, llmRecording: { flushMs: opts.llmFlushMs ?? 1_000 } }
        : {}),
      claimWaitMs: 1_000,
      logger: quiet,
    });
    await agent.start();
    agents.push(agent);
  }
  return agents;
}

export async function stopAgents(agents: Agent[]): Promise<void> {
  await Promise.all(agents.map((a) => a.stop({ graceMs: 500 }).catch(() => {})));
}

/** Polls a run until `predicate` holds for its view. */
export async function runUntil(
  d: TestDaemon,
  id: string,
  predicate: (run: any) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<any> {
  return eventually(
    async () => {
      const r = await d.api("GET", `/api/pipelines/runs/${id}`, { token: TOKENS.viewer });
      return r.status === 200 && predicate(r.body) ? r.body : null;
    },
    timeoutMs,
    what,
  );
}
