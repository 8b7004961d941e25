import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import { Agent } from "../sdk/agent.ts";
import { llmClientFromEnv } from "../sdk/llm/llm-client.ts";
import { TaskError } from "../sdk/task-error.ts";
import type { TaskHandler } from "../sdk/task-run.ts";
import { PIPELINE_ROLES, pipelineHandlers } from "./pipeline-agents.ts";

/**
 * The demo fleet: real SDK agents doing simulated work through the real agent protocol. Every
 * number the daemon shows comes from this work; nothing is fabricated on the daemon side.
 */
export const DEMO_ROLES: Array<{ role: string; capabilities: string[]; replicas: number }> = [
  { role: "researcher", capabilities: ["research.summarize", "research.classify"], replicas: 2 },
  { role: "developer", capabilities: ["code.generate", "code.test"], replicas: 2 },
  { role: "reviewer", capabilities: ["code.review"], replicas: 1 },
];

export const DEMO_TASK_TYPES = DEMO_ROLES.flatMap((r) => r.capabilities);

/** Simulated work: 100–900 ms with progress reports; ~10 % retryable failures, ~1 % permanent ones. */
export function demoHandler(random: () => number = Math.random): TaskHandler {
  return async (ctx) => {
    const steps = 3;
    const workMs = 100 + Math.floor(random() * 800);
    for (let i = 1; i <= steps; i++) {
      await delay(workMs / steps, undefined, { signal: ctx.signal });
      await ctx.progress(Math.round((100 * i) / steps), `step ${i} of ${steps}`);
    }
    const roll = random();
    if (roll < 0.01)
      throw new TaskError("input rejected by the tool", { category: "validation", retryable: false });
    if (roll < 0.11) throw new TaskError("upstream tool timed out", { category: "timeout", retryable: true });
    return { ok: true, workMs };
  };
}

/** Starts the in-process demo agents; returns a function that stops them gracefully. */
export async function startDemoAgents(
  url: string,
  agentSecret: string,
  logger: Logger,
): Promise<() => Promise<void>> {
  const agents: Agent[] = [];
  for (const spec of DEMO_ROLES) {
    for (let i = 1; i <= spec.replicas; i++) {
      const handlers = Object.fromEntries(spec.capabilities.map((c) => [c, demoHandler()]));
      const agent = new Agent({
        url,
        agentSecret,
        name: `${spec.role}-${i}`,
        role: spec.role,
        handlers,
        concurrency: 2,
        logger: logger.child({ agent: `${spec.role}-${i}` }),
      });
      await agent.start();
      agents.push(agent);
    }
  }
  // One agent per pipeline role, so the built-in `mission` and `story` templates run out of the box.
  // Their steps call a model through the SDK's LLM client: offline unless OVERSEER_LLM_* says otherwise.
  const steps = pipelineHandlers();
  const llm = llmClientFromEnv();
  logger.info({ provider: llm.provider, model: llm.model }, "demo pipeline agents' LLM client");
  for (const spec of PIPELINE_ROLES) {
    const agent = new Agent({
      llm,
      // The demo's calls carry their prompts and answers, so the training-data export
      // (GET /api/llm/export, redacted by default) has pairs to show, not metadata only.
      recordLlmContent: true,
      url,
      agentSecret,
      name: `${spec.role}-1`,
      role: spec.role,
      handlers: Object.fromEntries(spec.capabilities.map((c) => [c, steps[c as keyof typeof steps]])),
      concurrency: 4,
      logger: logger.child({ agent: `${spec.role}-1` }),
    });
    await agent.start();
    agents.push(agent);
  }
  return async () => {
    await Promise.all(agents.map((a) => a.stop({ graceMs: 2_000 })));
  };
}

/** Optional settings of the flaky agent process. */
export interface CrashingAgentOptions {
  /** The first kill, sooner than `periodMs` so a death shows early; `periodMs` when absent. */
  firstKillAfterMs?: number;
  /** Where the child's stderr (its warnings) goes: the terminal, or a file descriptor (the demo's log file). */
  stderr?: "inherit" | number;
  /**
   * A viewer token: each kill then waits (at most 5 s) until the agent holds a task, asking the API,
   * so a task has to move. Without it the kill comes on the clock, busy or idle.
   */
  viewerToken?: string;
  /** Told of each kill, with the name of the agent killed. */
  onKill?: (agent: string) => void;
}

/**
 * A separate agent process that is SIGKILLed and replaced every `periodMs`, so the demo shows a
 * real agent death: stale, dead, its task reassigned, in the metrics and the dashboards.
 */
export function startCrashingAgent(
  url: string,
  agentSecret: string,
  periodMs: number,
  logger: Logger,
  options: CrashingAgentOptions = {},
): () => Promise<void> {
  // Compiled (dist/demo/demo-fleet.js) the agent is dist/sdk/run-agent.js under plain node; in a
  // checkout it is the TypeScript source through tsx.
  const compiled = import.meta.url.endsWith(".js");
  const entry = fileURLToPath(new URL(`../sdk/run-agent.${compiled ? "js" : "ts"}`, import.meta.url));
  const nodeArgs = compiled ? ["--enable-source-maps", entry] : ["--import", "tsx", entry];
  let child: ChildProcess | null = null;
  let generation = 0;
  /** The running agent's id, from its "agent <name> registered <id>" line on stdout. */
  let agentId: string | null = null;
  const launch = () => {
    generation++;
    agentId = null;
    const c = spawn(process.execPath, nodeArgs, {
      env: {
        ...process.env,
        OVERSEER_URL: url,
        OVERSEER_AGENT_SECRET: agentSecret,
        AGENT_NAME: `flaky-developer-${generation}`,
        AGENT_ROLE: "developer",
        AGENT_CAPABILITIES: "code.generate,code.test",
        AGENT_CONCURRENCY: "2",
        AGENT_WORK_MS: "1500",
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", options.viewerToken ? "pipe" : "ignore", options.stderr ?? "inherit"],
    });
    c.stdout?.setEncoding("utf8").on("data", (text: string) => {
      const id = /registered (\S+)/.exec(text)?.[1];
      if (id && child === c) agentId = id;
    });
    child = c;
  };
  const holdsTask = async (token: string): Promise<boolean> => {
    if (!agentId) return false;
    const r = await fetch(`${url}/api/tasks?state=active&agentId=${agentId}&limit=1`, {
      headers: { authorization: `Bearer ${token}` },
    }).catch(() => null);
    const body = r?.ok ? ((await r.json()) as { total?: number }) : null;
    return (body?.total ?? 0) > 0;
  };
  const stop = new AbortController();
  const wait = (ms: number) => delay(ms, undefined, { signal: stop.signal, ref: false });
  const kill = async () => {
    const token = options.viewerToken;
    for (let waited = 0; token && waited < 5_000 && !(await holdsTask(token)); waited += 200) await wait(200);
    if (stop.signal.aborted) return;
    const agent = `flaky-developer-${generation}`;
    logger.info({ agent }, "demo: SIGKILL the flaky agent process (its tasks move to others)");
    child?.kill("SIGKILL");
    options.onKill?.(agent);
    launch();
  };
  launch();
  void (async () => {
    await wait(options.firstKillAfterMs ?? periodMs);
    for (;;) {
      await kill();
      await wait(periodMs);
    }
  })().catch(() => {}); // aborted: the demo is stopping
  return async () => {
    stop.abort();
    const last = child;
    if (!last || last.exitCode !== null) return;
    // Let it finish or release its work while the daemon is still up.
    const exited = new Promise((resolve) => last.once("exit", resolve));
    last.kill("SIGTERM");
    await Promise.race([exited, delay(5_000)]);
  };
}

/** Submits a steady stream of tasks through the API; returns a stop function. */
export function startTaskStream(
  url: string,
  operatorToken: string,
  perSecond: number,
  logger: Logger,
): () => void {
  let stopped = false;
  let n = 0;
  void (async () => {
    while (!stopped) {
      const type = DEMO_TASK_TYPES[Math.floor(Math.random() * DEMO_TASK_TYPES.length)] as string;
      const priority = Math.random() < 0.2 ? 800 : 100;
      try {
        const r = await fetch(`${url}/api/tasks`, {
          method: "POST",
          headers: { authorization: `Bearer ${operatorToken}`, "content-type": "application/json" },
          body: JSON.stringify({ type, priority, payload: { n: ++n, topic: `item ${n}` } }),
        });
        if (r.status !== 202) logger.warn({ status: r.status }, "demo: task submission refused");
      } catch (error) {
        if (!stopped) logger.warn({ err: error }, "demo: task submission failed");
      }
      await delay(1_000 / perSecond);
    }
  })();
  return () => {
    stopped = true;
  };
}

/**
 * The demo's spending guard, as a deployment would configure one: a global daily budget, created
 * once (an existing global budget is left as it is). Without one the budget panels and the budget
 * alert have nothing to measure.
 */
export async function ensureDemoBudget(url: string, adminToken: string, logger: Logger): Promise<void> {
  const headers = { authorization: `Bearer ${adminToken}`, "content-type": "application/json" };
  const r = await fetch(`${url}/api/budgets`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      scope: "global",
      period: "day",
      softLimitUsd: 500,
      hardLimitUsd: 1000,
      description: "demo: a global daily budget",
    }),
  });
  // 409: a global daily budget exists already (a restarted demo on kept Postgres).
  if (r.status !== 201 && r.status !== 409) logger.warn({ status: r.status }, "demo: budget not created");
}
