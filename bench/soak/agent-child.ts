// One process of the soak's churning fleet: a worker agent for the steady `soak.work` tasks and one
// agent per `mission` role (classifier, tool-runner) with the demo handlers and the offline LLM
// provider, so runs record steps, events and LLM calls like a real fleet. The parent replaces this
// process on a schedule, by SIGTERM (the agents drain and leave) or SIGKILL (they go dead).
//   OVERSEER_URL            daemon URLs separated by commas (the SDK fails over)
//   OVERSEER_AGENT_SECRET   registration secret
//   SOAK_GENERATION         number in the agents' names, so every replacement registers new agents
//   SOAK_WORK_MS            simulated work of a `soak.work` task, "min,max" ms
//   SOAK_STEP_MS            simulated work of a mission step, "min,max" ms
// Prints "ready" on stdout once every agent is registered.
import { setTimeout as delay } from "node:timers/promises";
import { PIPELINE_ROLES, pipelineHandlers } from "../../demo/pipeline-agents.ts";
import { Agent } from "../../sdk/agent.ts";
import { llmClientFromEnv } from "../../sdk/llm/llm-client.ts";
import type { TaskHandler } from "../../sdk/task-run.ts";

const env = process.env;
const urls = (env["OVERSEER_URL"] ?? "").split(",").filter(Boolean);
const agentSecret = env["OVERSEER_AGENT_SECRET"] ?? "";
const generation = env["SOAK_GENERATION"] ?? String(process.pid);
const range = (raw: string | undefined, fallback: [number, number]): (() => number) => {
  const [lo, hi] = (raw ?? "").split(",").map(Number);
  const min = Number.isFinite(lo) ? (lo as number) : fallback[0];
  const max = Number.isFinite(hi) ? (hi as number) : min;
  return () => min + Math.floor(Math.random() * (max - min + 1));
};
const workMs = range(env["SOAK_WORK_MS"], [5, 50]);
const stepMs = range(env["SOAK_STEP_MS"], [50, 200]);

const steps = pipelineHandlers(stepMs);
const work: TaskHandler = async (ctx) => {
  await delay(workMs(), undefined, { signal: ctx.signal });
  return { ok: true };
};
const missionRoles = PIPELINE_ROLES.filter((r) => r.capabilities.some((c) => c.startsWith("mission.")));
const llm = llmClientFromEnv();

const agents: Agent[] = [
  new Agent({
    urls,
    agentSecret,
    name: `soak-${generation}-worker`,
    role: "soak-worker",
    concurrency: 8,
    handlers: { "soak.work": work },
  }),
  ...missionRoles.map(
    (r) =>
      new Agent({
        urls,
        agentSecret,
        name: `soak-${generation}-${r.role}`,
        role: r.role,
        concurrency: 4,
        llm,
        handlers: Object.fromEntries(
          r.capabilities.map((c) => [c, steps[c as keyof typeof steps] as TaskHandler]),
        ),
      }),
  ),
];
// Errors are counted, and reported as one line when the process stops (output stays bounded).
const errors: Record<string, number> = {};
for (const agent of agents) {
  agent.on("error", (err: Error) => {
    const key = err.message.slice(0, 100);
    errors[key] = (errors[key] ?? 0) + 1;
  });
}

let stopping = false;
process.on("SIGTERM", () => {
  if (stopping) return;
  stopping = true;
  void Promise.all(agents.map((a) => a.stop({ graceMs: 2_000 }))).finally(() => {
    if (Object.keys(errors).length > 0) process.stderr.write(`errors ${JSON.stringify(errors)}\n`);
    process.exit(0);
  });
});
// The parent going away (a crash, Ctrl-C) must not leave agents behind.
process.on("disconnect", () => process.exit(1));

await Promise.all(agents.map((a) => a.start()));
process.stdout.write("ready\n");
