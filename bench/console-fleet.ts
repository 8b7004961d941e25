// `npm run bench:console [-- --agents N]`: the console's fleet page in a real Chromium against a fleet
// of N registered agents (default 10,000): first load and warm reloads (navigation start → list
// drawn), beside the API read the page is drawn from timed alone, and the page's lag behind the
// WebSocket feed (bench/scenarios/console-fleet.ts). test/console/console-fleet.test.ts runs a small one.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchChromium } from "../test/helpers/browser.ts";
import { buildConsole } from "../tools/build-console.ts";
import { consoleFleet } from "./scenarios/console-fleet.ts";
import { killAllChildren } from "./support/children.ts";
import { startBenchDaemon } from "./support/daemon.ts";
import { runEmergencyCleanups } from "./support/emergency.ts";
import { benchNamespace, TOKENS } from "./support/services.ts";

const i = process.argv.indexOf("--agents");
const AGENTS = i > 0 ? Number(process.argv[i + 1]) : 10_000;
if (!Number.isInteger(AGENTS) || AGENTS < 1) throw new Error("--agents needs a positive integer");

process.once("SIGINT", () => {
  void runEmergencyCleanups().finally(() => {
    killAllChildren();
    process.exit(130);
  });
});

const dir = mkdtempSync(join(tmpdir(), "overseer-console-"));
await buildConsole(dir);
// The registered agents never heartbeat: liveness long enough that none goes stale mid-run.
const daemon = await startBenchDaemon(benchNamespace("console"), {
  OVERSEER_CONSOLE_DIR: dir,
  OVERSEER_AGENT_STALE_AFTER_MS: "20m",
  OVERSEER_AGENT_DEAD_AFTER_MS: "30m",
  OVERSEER_HEARTBEAT_INTERVAL_MS: "10m",
});
const browser = await launchChromium();
try {
  console.log(`console fleet page: ${AGENTS} agents, Chromium ${browser.version()}`);
  const r = await consoleFleet(browser, {
    url: daemon.url,
    agents: AGENTS,
    reloads: 4,
    liveEvents: 10,
    tokens: { viewer: TOKENS.viewer, agentSecret: TOKENS.agentSecret },
  });
  console.log(`rows shown                 ${r.rowsShown}`);
  console.log(`first load (ms)            ${r.loadMs[0]}`);
  console.log(`warm reloads (ms)          ${r.loadMs.slice(1).join(", ")}`);
  console.log(`of which the page's read   ${r.readMs.join(", ")}`);
  console.log(`API read alone (ms)        ${r.apiReadMs}`);
  console.log(
    `feed → page lag (ms)       p50 ${r.feedLagP50}, max ${r.feedLagMax} (${r.feedLagMs.join(", ")})`,
  );
  console.log(JSON.stringify(r));
} finally {
  await browser.close();
  await daemon.close();
  rmSync(dir, { recursive: true, force: true });
}
