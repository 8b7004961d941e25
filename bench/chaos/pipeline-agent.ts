// One pipeline agent process for the chaos run: an SDK agent for one role of the built-in `mission`
// template with the demo handlers (demo/pipeline-agents.ts), failing over between the
// replicas in OVERSEER_URL, and recording every outcome the daemon acknowledged in
// AGENT_REPORT_FILE exactly as sdk/run-agent.ts does (so the checker reads both the same way).
//   OVERSEER_URL, OVERSEER_AGENT_SECRET, AGENT_NAME, AGENT_ROLE, AGENT_CAPABILITIES,
//   AGENT_CONCURRENCY, AGENT_REPORT_FILE as for sdk/run-agent.ts; CHAOS_STEP_MS="min,max" of work.
import { appendFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import pino from "pino";
import { pipelineHandlers } from "../../demo/pipeline-agents.ts";
import { Agent } from "../../sdk/agent.ts";
import type { TaskHandler } from "../../sdk/task-run.ts";

function main(): void {
  const env = process.env;
  const list = (v: string | undefined) => (v ?? "").split(",").filter((s) => s.trim() !== "");
  const [lo = 50, hi = 150] = list(env["CHAOS_STEP_MS"] ?? "50,150").map(Number);
  const handlers = pipelineHandlers(() => lo + Math.random() * (hi - lo)) as Record<string, TaskHandler>;
  const name = env["AGENT_NAME"] || `chaos-pipeline-${process.pid}`;
  const capabilities = list(env["AGENT_CAPABILITIES"]);
  const logger = pino(
    { level: env["LOG_LEVEL"] || "warn", base: { agent: name } },
    pino.destination({ fd: 2, sync: true }),
  );
  const agent = new Agent({
    urls: list(env["OVERSEER_URL"]),
    agentSecret: env["OVERSEER_AGENT_SECRET"] ?? "",
    name,
    role: env["AGENT_ROLE"] || "worker",
    capabilities,
    concurrency: Number(env["AGENT_CONCURRENCY"] ?? 4),
    handlers: Object.fromEntries(capabilities.map((c) => [c, handlers[c] as TaskHandler])),
    logger,
  });
  const file = env["AGENT_REPORT_FILE"];
  if (file) {
    const record = (event: string, info: { taskId: string; leaseToken: string }) =>
      appendFileSync(
        file,
        `${JSON.stringify({ event, taskId: info.taskId, leaseToken: info.leaseToken, at: Date.now(), agent: name })}\n`,
      );
    agent.on("task:completed", (info) => record("completed", info));
    agent.on("task:failed", (info) => record("failed", info));
    agent.on("task:lost", (info) => record("lost", info));
  }
  agent.on("registered", ({ id }) => process.stdout.write(`agent ${name} registered ${id}\n`));
  agent.on("error", (err) => logger.error({ err }, "agent error"));
  agent.on("state", (state) => {
    if (state === "STOPPED") setImmediate(() => process.exit(0));
    if (state === "FAILED") setImmediate(() => process.exit(1));
  });
  agent.installSignalHandlers({ exit: true });
  agent.start().catch((err) => {
    logger.error({ err }, "agent could not start");
    process.exit(1);
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
