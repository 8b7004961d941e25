import { mkdirSync, openSync } from "node:fs";
import { dirname, relative } from "node:path";
import pino from "pino";
import { configOrExit, runDaemon } from "../app/main.ts";
import { createLogger } from "../daemon/telemetry/logger.ts";
import { ensureDemoBudget, startCrashingAgent, startDemoAgents, startTaskStream } from "./demo-fleet.ts";
import { FleetTally } from "./live-view/fleet-tally.ts";
import { startLiveView } from "./live-view/live-view.ts";
import { demoLogFile, outputMode } from "./live-view/output-mode.ts";
import { startPipelineStream } from "./pipeline-agents.ts";

/**
 * `npm run demo`: the daemon plus a fleet of demo agents working through a stream of tasks (some
 * fail and retry; one agent process is killed 15 s in and every 45 s after, and replaced) and a
 * `mission` or `story` pipeline run every 5 s, so /metrics and the workflow reads move at once. It
 * sets a global daily budget (USD 500 soft, 1,000 hard) unless one exists.
 *
 * In a terminal it draws a live view (demo/live-view/) and writes the JSON logs to a file it names;
 * piped, or with LOG_FORMAT=json, it prints the JSON log lines on stdout as the daemon does.
 */
const config = configOrExit();
const startedAt = Date.now();
const mode = outputMode(process.stdout.isTTY === true, process.env);
const logFile = mode === "view" ? demoLogFile(process.cwd(), new Date(startedAt)) : null;
const logFileShown = logFile ? relative(process.cwd(), logFile) : "";
// One file for the daemon's and the demo's lines and the flaky agent process's stderr (appends).
let logFd: number | null = null;
if (logFile) {
  mkdirSync(dirname(logFile), { recursive: true });
  logFd = openSync(logFile, "a");
}
const logger = createLogger(
  config.logLevel,
  logFd === null ? undefined : pino.destination({ fd: logFd, sync: false }),
);
const log = logger.child({ component: "demo" });
if (logFile) process.stdout.write(`Overseer demo: starting; its JSON logs go to ${logFileShown}\n`);
let stopDemo: () => Promise<void> = async () => {};
// On SIGTERM/SIGINT the fleet stops first (agents finish or release their work), then the daemon drains.
const daemon = await runDaemon(config, { beforeStop: () => stopDemo(), logger });
// Subscribed before the agents start, so the view sees every registration and completion.
const tally = mode === "view" ? new FleetTally(Date.now()) : null;
if (tally) daemon.bus.subscribe(tally.onEvent);
const url = daemon.url.replace("0.0.0.0", "127.0.0.1");
await ensureDemoBudget(url, config.tokens.admin, log);
const stopAgents = await startDemoAgents(url, config.agentSecret, log);
const stopStream = startTaskStream(
  url,
  config.tokens.operator,
  Number(process.env.DEMO_TASKS_PER_SECOND ?? 4),
  log,
);
const stopCrashing = startCrashingAgent(url, config.agentSecret, 45_000, log, {
  // The first death early, so it is on screen within the first half-minute.
  firstKillAfterMs: 15_000,
  stderr: logFd ?? "inherit",
  viewerToken: config.tokens.viewer,
  // The daemon only learns of it from the silence: the view says what the demo did.
  onKill: (agent) => tally?.note(Date.now(), `demo: SIGKILL ${agent}'s process`),
});
const stopRuns = startPipelineStream(url, config.tokens.operator, 5_000, log);
stopDemo = async () => {
  stopStream();
  stopRuns();
  await Promise.all([stopCrashing(), stopAgents()]);
};

if (tally) {
  startLiveView({
    url,
    viewerToken: config.tokens.viewer,
    operatorToken: config.tokens.operator,
    logFile: logFileShown,
    startedAt,
    tally,
  });
} else {
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
}
