import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { consoleFleet } from "../../bench/scenarios/console-fleet.ts";
import { pageErrors, screenshot, signIn, waitForFeedLive, waitForMark } from "../helpers/browser.ts";
import { consoleSuite, TEST_GRAFANA_URL } from "../helpers/console-daemon.ts";
import { prefixProxy } from "../helpers/prefix-proxy.ts";
import { TOKENS } from "../helpers/test-env.ts";

/**
 * The fleet page in a real Chromium: a small version of `npm run bench:console` (load and live
 * updates), then the links both ways with Grafana, from the generated dashboards and the daemon's
 * own /metrics series.
 */
const suite = consoleSuite({
  // Registered agents that never heartbeat stay active for the whole file.
  OVERSEER_HEARTBEAT_INTERVAL_MS: "60000",
  OVERSEER_AGENT_STALE_AFTER_MS: "120000",
  OVERSEER_AGENT_DEAD_AFTER_MS: "180000",
});

it("draws every agent of the fleet and follows the feed live", async () => {
  const r = await consoleFleet(suite.browser, {
    url: suite.d.url,
    agents: 300,
    reloads: 1,
    liveEvents: 3,
    tokens: { viewer: TOKENS.viewer, agentSecret: TOKENS.agentSecret },
  });
  // Every agent, and each agent registered while the page was open, arrived through the feed.
  expect(r.rowsShown).toBe(300);
  expect(r.feedLagMs).toHaveLength(3);
  for (const lag of r.feedLagMs) expect(lag).toBeGreaterThanOrEqual(0);
  console.log(`console fleet smoke: ${JSON.stringify(r)}`);
});

/** Grafana's interpolation of a data link: the variable, and each label percent-encoded. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JavaScript template.
const CONSOLE_URL_VAR = "${console_url}";

function interpolate(url: string, consoleUrl: string, labels: Record<string, string>): string {
  return url
    .replaceAll(CONSOLE_URL_VAR, consoleUrl)
    .replace(/\$\{__field\.labels\.(\w+):percentencode\}/g, (_, name: string) => {
      const value = labels[name];
      if (value === undefined) throw new Error(`no label ${name} on the series`);
      return encodeURIComponent(value);
    });
}

function dataLinks(dashboard: string): Array<{ title: string; url: string }> {
  const found: Array<{ title: string; url: string }> = [];
  const walk = (o: unknown): void => {
    if (Array.isArray(o)) for (const x of o) walk(x);
    else if (o && typeof o === "object") {
      const rec = o as Record<string, unknown>;
      if (typeof rec.url === "string" && rec.url.includes(CONSOLE_URL_VAR) && typeof rec.title === "string") {
        found.push({ title: rec.title, url: rec.url });
      }
      for (const v of Object.values(rec)) walk(v);
    }
  };
  walk(
    JSON.parse(readFileSync(new URL(`../../grafana/dashboards/${dashboard}.json`, import.meta.url), "utf8")),
  );
  return found;
}

it("follows a Grafana panel's data link to the right console page, and the console's link back", async () => {
  const d = suite.d;
  const agent = await d.registerAgent("linked-agent", ["console.links"], { role: "linker" });
  // A series as Prometheus would hold it: the daemon's own, from /metrics.
  const metrics = await (await fetch(`${d.url}/metrics`)).text();
  const line = metrics
    .split("\n")
    .find((l) => l.startsWith("overseer_agent_heartbeat_age_seconds{") && l.includes(agent.id));
  expect(line, "the heartbeat-age series of the new agent").toBeDefined();
  const labels = Object.fromEntries(
    [...(line as string).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
  );

  const links = dataLinks("overseer-agents");
  const toAgent = links.find((l) => l.url.includes("/#/agents/"));
  const toRole = links.find((l) => l.url.includes("/#/fleet?role="));
  expect(toAgent && toRole, "agent and role data links on the agents dashboard").toBeTruthy();

  const page = await suite.browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = pageErrors(page);
  await signIn(page, d.url, TOKENS.viewer, "grafana-link");
  await waitForMark(page, "fleetLoadedAt");
  await screenshot(page, "fleet");

  // Role link: the fleet filtered to that role, and only its agents.
  await page.goto(interpolate(toRole?.url ?? "", `${d.url}/ui`, labels));
  await waitForMark(page, "fleetRows", "1");
  expect(await page.getByLabel("Role").inputValue()).toBe("linker");
  await expect(page.getByRole("link", { name: "linked-agent" }).count()).resolves.toBe(1);
  // And the console's link back: the agents dashboard by uid, with the role variable and a range.
  const back = await page.getByRole("link", { name: /Agents dashboard in Grafana/ }).getAttribute("href");
  const url = new URL(back ?? "");
  expect(`${url.origin}${url.pathname}`).toBe(`${TEST_GRAFANA_URL}/d/overseer-agents`);
  expect(Object.fromEntries(url.searchParams)).toEqual({ from: "now-1h", to: "now", "var-role": "linker" });
  const agentsDashboard = JSON.parse(
    readFileSync(new URL("../../grafana/dashboards/overseer-agents.json", import.meta.url), "utf8"),
  ) as { uid: string; templating: { list: Array<{ name: string }> } };
  expect(agentsDashboard.uid).toBe("overseer-agents");
  expect(agentsDashboard.templating.list.map((v) => v.name)).toContain("role");

  // Agent link: that agent's page.
  await page.goto(interpolate(toAgent?.url ?? "", `${d.url}/ui`, labels));
  await page.getByRole("heading", { level: 1, name: /linked-agent/ }).waitFor();
  await screenshot(page, "agent");
  expect(errors).toEqual([]);
  await page.close();
});

it("works behind a reverse proxy that serves the daemon under a path prefix, feeds included", async () => {
  const proxy = await prefixProxy(suite.d.url, "/ops/overseer");
  const page = await suite.browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = pageErrors(page);
  try {
    // /ops/overseer/ui redirects to ui/ relative to itself, keeping the prefix.
    await page.goto(`${proxy.url}/ui`);
    expect(new URL(page.url()).pathname).toBe("/ops/overseer/ui/");
    await page.getByLabel(/^Token/).fill(TOKENS.viewer);
    await page.getByRole("button", { name: "Sign in" }).click();
    await waitForMark(page, "fleetLoadedAt");
    await waitForFeedLive(page);
    const agent = await suite.d.registerAgent("behind-the-proxy", ["console.proxy"], { role: "proxied" });
    await waitForMark(page, "feedLastEvent", `agent.registered ${agent.id}`, 10_000);
    expect(errors).toEqual([]);
  } finally {
    await page.close();
    await proxy.close();
  }
});
