import { configOrExit, runDaemon } from "../app/main.ts";
import { createLogger } from "../daemon/telemetry/logger.ts";
import { ensureDemoBudget, startCrashingAgent, startDemoAgents, startTaskStream } from "./demo-fleet.ts";
import { startPipelineStream } from "./pipeline-agents.ts";

/**
 * `npm run demo`: the daemon plus a fleet of demo agents working through a stream of tasks (some
 * fail and retry; one agent process is killed every 45 s and replaced) and a `mission` or `story`
 * pipeline run every 5 s, so /metrics and the workflow reads move at once. It sets a global daily
 * budget (USD 500 soft, 1,000 hard) unless one exists.
 */
const config = configOrExit();
const log = createLogger(config.logLevel).child({ component: "demo" });
let stopDemo: () => Promise<void> = async () => {};
// On SIGTERM/SIGINT the fleet stops first (agents finish or release their work), then the daemon drains.
const daemon = await runDaemon(config, { beforeStop: () => stopDemo() });
const url = daemon.url.replace("0.0.0.0", "127.0.0.1");
await ensureDemoBudget(url, config.tokens.admin, log);
const stopAgents = await startDemoAgents(url, config.agentSecret, log);
const stopStream = startTaskStream(
  url,
  config.tokens.operator,
  Number(process.env.DEMO_TASKS_PER_SECOND ?? 4),
  log,
);
const stopCrashing = startCrashingAgent(url, config.agentSecret, 45_000, log);
const stopRuns = startPipelineStream(url, config.tokens.operator, 5_000, log);
stopDemo = async () => {
  stopStream();
  stopRuns();
  await Promise.all([stopCrashing(), stopAgents()]);
};

process.stdout.write(
  [
    "",
    "Overseer demo is running.",
    `  metrics:    ${url}/metrics`,
    `  API docs:   ${url}/docs`,
    `  agents:     curl -H 'Authorization: Bearer ${config.tokens.viewer}' ${url}/api/dashboard/agents/status`,
    `  queues:     curl -H 'Authorization: Bearer ${config.tokens.viewer}' ${url}/api/dashboard/tasks/queue`,
    `  pipelines:  curl -H 'Authorization: Bearer ${config.tokens.viewer}' ${url}/api/workflow/statistics`,
    `  operator token: ${config.tokens.operator}`,
    "  Ctrl-C drains and stops.",
    "",
  ].join("\n"),
);
