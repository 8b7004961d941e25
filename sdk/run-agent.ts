// CLI: runs one simulated agent process configured from the environment (tests and the demo use it).
//   OVERSEER_URL            daemon URL, or several separated by commas (failover)
//   OVERSEER_AGENT_SECRET   registration secret
//   AGENT_NAME              default "agent-<pid>"
//   AGENT_ROLE              default "worker"
//   AGENT_CAPABILITIES      comma-separated task types to handle
//   AGENT_CONCURRENCY       default 1
//   AGENT_WORK_MS           simulated work per task, default 0
//   AGENT_FAIL_RATE         probability (0..1) that a task throws a retryable TaskError, default 0
//   AGENT_TRANSPORT         "session" (default: one WebSocket, HTTP while it is down) or "http"
//   AGENT_REPORT_FILE       optional: one JSON line per task outcome {event, taskId, leaseToken, at, agent}
//   LOG_LEVEL               pino level for the JSON logs on stderr, default "info"
// stdout carries only "agent <name> registered <id>" lines. Exit codes: 0 stopped, 1 failed,
// 2 bad configuration, 75 stopped after a restart command (asks the process manager to start it again).

import { appendFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import pino from "pino";
import { isEntryPoint } from "../contract/entry-point.ts";
import { Agent } from "./agent.ts";
import type { AgentOptions } from "./agent-types.ts";
import { TaskError } from "./task-error.ts";
import type { TaskHandler } from "./task-run.ts";

/** Exit code after a restart command (EX_TEMPFAIL). */
export const RESTART_EXIT_CODE = 75;

/** Settings read from the environment. */
export interface AgentEnvConfig {
  urls: string[];
  agentSecret: string;
  name: string;
  role: string;
  capabilities: string[];
  concurrency: number;
  workMs: number;
  failRate: number;
  reportFile: string | undefined;
  /** How the agent talks to the daemon after registering (AgentOptions.transport). */
  transport: "session" | "http";
  logLevel: string;
}

function transportOf(raw: string | undefined): "session" | "http" {
  if (raw === undefined || raw.trim() === "") return "session";
  if (raw === "session" || raw === "http") return raw;
  throw new Error(`AGENT_TRANSPORT must be "session" or "http", got "${raw}"`);
}

/** Parses and validates the environment; throws with a readable message on bad values. */
export function parseAgentEnv(env: NodeJS.ProcessEnv): AgentEnvConfig {
  const list = (value: string | undefined): string[] =>
    (value ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
  const number = (key: string, fallback: number, min: number, max: number): number => {
    const raw = env[key];
    if (raw === undefined || raw.trim() === "") return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max) {
      throw new Error(`${key} must be a number in [${min}, ${max}], got "${raw}"`);
    }
    return value;
  };
  const urls = list(env["OVERSEER_URL"]);
  if (urls.length === 0) throw new Error("OVERSEER_URL is required");
  const agentSecret = env["OVERSEER_AGENT_SECRET"];
  if (!agentSecret) throw new Error("OVERSEER_AGENT_SECRET is required");
  const capabilities = list(env["AGENT_CAPABILITIES"]);
  if (capabilities.length === 0)
    throw new Error("AGENT_CAPABILITIES is required (comma-separated task types)");
  return {
    urls,
    agentSecret,
    name: env["AGENT_NAME"] || `agent-${process.pid}`,
    role: env["AGENT_ROLE"] || "worker",
    capabilities,
    concurrency: Math.floor(number("AGENT_CONCURRENCY", 1, 1, 10_000)),
    workMs: number("AGENT_WORK_MS", 0, 0, Number.MAX_SAFE_INTEGER),
    failRate: number("AGENT_FAIL_RATE", 0, 0, 1),
    reportFile: env["AGENT_REPORT_FILE"] || undefined,
    transport: transportOf(env["AGENT_TRANSPORT"]),
    logLevel: env["LOG_LEVEL"] || "info",
  };
}

/** The simulated handler: waits workMs (abortable), fails at failRate, returns who did the work. */
export function simulatedHandler(config: Pick<AgentEnvConfig, "name" | "workMs" | "failRate">): TaskHandler {
  return async (ctx) => {
    if (config.workMs > 0) await delay(config.workMs, undefined, { signal: ctx.signal });
    ctx.signal.throwIfAborted();
    if (config.failRate > 0 && Math.random() < config.failRate) {
      throw new TaskError("simulated failure", { category: "simulated", retryable: true });
    }
    return { by: config.name, pid: process.pid };
  };
}

/** Builds the agent for a config; wires the report file when one is set. */
export function createEnvAgent(config: AgentEnvConfig, logger: AgentOptions["logger"]): Agent {
  const handler = simulatedHandler(config);
  const agent = new Agent({
    urls: config.urls,
    agentSecret: config.agentSecret,
    name: config.name,
    role: config.role,
    capabilities: config.capabilities,
    concurrency: config.concurrency,
    transport: config.transport,
    handlers: Object.fromEntries(config.capabilities.map((c) => [c, handler])),
    logger,
  });
  const file = config.reportFile;
  if (file !== undefined) {
    // Synchronous appends: each line is on disk before the process can exit, and O_APPEND keeps
    // lines from several agent processes sharing one file intact.
    const record = (event: string, info: { taskId: string; leaseToken: string }): void =>
      appendFileSync(
        file,
        `${JSON.stringify({ event, taskId: info.taskId, leaseToken: info.leaseToken, at: Date.now(), agent: config.name })}\n`,
      );
    agent.on("task:completed", (info) => record("completed", info));
    agent.on("task:failed", (info) => record("failed", info));
    agent.on("task:lost", (info) => record("lost", info));
  }
  return agent;
}

async function main(): Promise<void> {
  let config: AgentEnvConfig;
  try {
    config = parseAgentEnv(process.env);
  } catch (err) {
    process.stderr.write(`run-agent: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const logger = pino(
    { level: config.logLevel, base: { agent: config.name, pid: process.pid } },
    pino.destination({ fd: 2, sync: true }),
  );
  const agent = createEnvAgent(config, logger);
  agent.on("registered", ({ id }) => process.stdout.write(`agent ${config.name} registered ${id}\n`));
  agent.on("error", (err) => logger.error({ err }, "agent error"));
  agent.on("state", (state) => {
    // Deferred so the listeners of the same transition (error logging, "restart") still run.
    if (state === "STOPPED") setImmediate(() => process.exit(agent.restartRequested ? RESTART_EXIT_CODE : 0));
    if (state === "FAILED") setImmediate(() => process.exit(1));
  });
  agent.installSignalHandlers({ exit: true });
  try {
    await agent.start();
  } catch (err) {
    logger.error({ err }, "agent could not start");
    process.exit(1);
  }
}

if (isEntryPoint(import.meta.url)) {
  void main();
}
