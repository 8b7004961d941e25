import type { Browser } from "playwright-core";
import { waitForFeedLive, waitForMark } from "../../test/helpers/browser.ts";
import { percentile } from "../stats.ts";
import { boundedRun } from "../support/timing.ts";

/**
 * The console's fleet page against a fleet of `agents`: how long its first load takes in a real
 * Chromium (navigation start to the list drawn, from the page's own clock), beside the API read it
 * is drawn from timed alone, and how far the page lags the WebSocket feed (an agent registered
 * through the API, from the daemon stamping its event to the page drawing it).
 */
export interface ConsoleFleetParams {
  url: string;
  agents: number;
  /** Page loads timed after the first (warm). */
  reloads: number;
  /** Registrations whose arrival on the page is timed. */
  liveEvents: number;
  tokens: { viewer: string; agentSecret: string };
}

export interface ConsoleFleetResult {
  agents: number;
  rowsShown: number;
  /** First load, then each reload, each 1.5 s after the last (no snapshot shared): navigation start → fleet drawn (ms). */
  loadMs: number[];
  /** Of each load, the page's own read of the agents (request to parsed answer, ms). */
  readMs: number[];
  /** The same read the page makes, alone, from Node, before the page loads (ms), for comparison. */
  apiReadMs: number;
  /** Event stamped by the daemon → drawn on the page (ms), per live event. */
  feedLagMs: number[];
  feedLagP50: number | null;
  feedLagMax: number | null;
}

async function register(url: string, secret: string, name: string): Promise<string> {
  const r = await fetch(`${url}/api/agents/register`, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: JSON.stringify({
      name,
      role: `role-${name.length % 7}`,
      capabilities: ["console.bench"],
      concurrency: 2,
    }),
  });
  if (r.status !== 201) throw new Error(`register ${name}: HTTP ${r.status} ${await r.text()}`);
  return ((await r.json()) as { id: string }).id;
}

export async function consoleFleet(browser: Browser, p: ConsoleFleetParams): Promise<ConsoleFleetResult> {
  await boundedRun(p.agents, 64, (i) =>
    register(p.url, p.tokens.agentSecret, `fleet-${i}`).then(() => undefined),
  );

  // The daemon keeps a dashboard read for 1 s (OVERSEER_DASHBOARD_SNAPSHOT_MS): every timed read
  // waits that out first, so none rides on another's snapshot and each pays the read in full.
  const settle = () => new Promise((r) => setTimeout(r, 1_500));
  await settle();
  const t0 = performance.now();
  const read = await fetch(`${p.url}/api/dashboard/agents/status?limit=99999`, {
    headers: { authorization: `Bearer ${p.tokens.viewer}` },
  });
  await read.arrayBuffer();
  const apiReadMs = Math.round(performance.now() - t0);

  // A browser that has never seen the console, already signed in: the token is in the tab's session
  // storage (console/src/api.ts keeps it there) before the first byte of the page loads.
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.addInitScript(
    (token) => sessionStorage.setItem("overseer.console.token", token),
    p.tokens.viewer,
  );
  const page = await context.newPage();
  try {
    const loadMs: number[] = [];
    const readMs: number[] = [];
    for (let i = 0; i <= p.reloads; i++) {
      // A fresh document each time, the first with an empty cache, after the last one's reads settled.
      await settle();
      await page.goto(`${p.url}/ui/?load=${i}#/fleet`);
      // The page's own marks (console/src/pages/fleet.ts), read as expressions: this file has no DOM types.
      loadMs.push(Math.round(Number(await waitForMark(page, "fleetLoadedAt"))));
      readMs.push(Number(await waitForMark(page, "fleetReadMs")));
    }
    const rowsShown = Number(await waitForMark(page, "fleetRows"));
    await waitForFeedLive(page);
    const feedLagMs: number[] = [];
    for (let i = 0; i < p.liveEvents; i++) {
      const id = await register(p.url, p.tokens.agentSecret, `live-${i}`);
      await waitForMark(page, "feedLastEvent", `agent.registered ${id}`, 10_000);
      feedLagMs.push(Number(await waitForMark(page, "feedLagMs")));
    }
    const sorted = [...feedLagMs].sort((a, b) => a - b);
    return {
      agents: p.agents,
      rowsShown,
      loadMs,
      readMs,
      apiReadMs,
      feedLagMs,
      feedLagP50: sorted.length ? percentile(sorted, 50) : null,
      feedLagMax: sorted.length ? (sorted[sorted.length - 1] ?? null) : null,
    };
  } finally {
    await context.close();
  }
}
