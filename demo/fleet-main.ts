import { setTimeout as delay } from "node:timers/promises";
import { startTracingFromEnv } from "../contract/telemetry/start-tracing.ts";
import { createLogger } from "../daemon/telemetry/logger.ts";
import { startCrashingAgent, startDemoAgents, startTaskStream } from "./demo-fleet.ts";
import { startPipelineStream } from "./pipeline-agents.ts";

/**
 * `npm run demo:fleet`: the demo fleet alone, against a daemon that runs elsewhere (docker-compose
 * runs the daemon and the fleet as two services). Needs OVERSEER_URL, OVERSEER_AGENT_SECRET and
 * OVERSEER_OPERATOR_TOKEN, the same secrets the daemon was given.
 */
const log = createLogger(process.env.LOG_LEVEL ?? "info").child({ component: "demo-fleet" });
const url = process.env.OVERSEER_URL ?? "";
const agentSecret = process.env.OVERSEER_AGENT_SECRET ?? "";
const operatorToken = process.env.OVERSEER_OPERATOR_TOKEN ?? "";
const missing = Object.entries({
  OVERSEER_URL: url,
  OVERSEER_AGENT_SECRET: agentSecret,
  OVERSEER_OPERATOR_TOKEN: operatorToken,
})
  .filter(([, v]) => v === "")
  .map(([k]) => k);
if (missing.length > 0) {
  process.stderr.write(`overseer demo fleet: set ${missing.join(", ")}\n`);
  process.exit(78);
}

// The daemon may still be starting (migrations): wait for /readyz rather than fail the first calls.
for (let i = 0; ; i++) {
  const ready = await fetch(`${url}/readyz`).then(
    (r) => r.ok,
    () => false,
  );
  if (ready) break;
  if (i === 0) log.info({ url }, "waiting for the daemon to be ready");
  await delay(2_000);
}

// With OTEL_* set (docs/tracing.md) the agents' handler and LLM spans join the daemon's run traces.
const tracing = await startTracingFromEnv(process.env, { serviceName: "overseer-demo-fleet" });
if (tracing) log.info({ url: tracing.settings.url }, "tracing on");
const stopAgents = await startDemoAgents(url, agentSecret, log);
const stopStream = startTaskStream(url, operatorToken, Number(process.env.DEMO_TASKS_PER_SECOND ?? 4), log);
const stopCrashing = startCrashingAgent(url, agentSecret, 45_000, log);
const stopRuns = startPipelineStream(url, operatorToken, 5_000, log);
log.info({ url }, "demo fleet running");

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  stopStream();
  stopRuns();
  await Promise.all([stopCrashing(), stopAgents()]);
  await tracing?.shutdown();
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
