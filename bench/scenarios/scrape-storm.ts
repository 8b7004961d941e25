import { ratio, type Summary, summarize } from "../stats.ts";
import { nextMessage, send, spawnTs, stopChild } from "../support/children.ts";
import { startBenchDaemon } from "../support/daemon.ts";
import { benchNamespace, TOKENS } from "../support/services.ts";
import { boundedRun } from "../support/timing.ts";

export interface ScrapeStormParams {
  /** Agents registered first, so /metrics and the read carry real series. */
  agents: number;
  /** Parallel /metrics loops in the scraper child process. */
  scrapers: number;
  /** Dashboard reads measured alone, then as many under the scrapers (one at a time). */
  reads: number;
}

export interface ScrapeStormResult {
  params: ScrapeStormParams;
  namespace: string;
  /** GET /api/dashboard/agents/status latency (ms) with nothing else running. */
  alone: Summary;
  /** The same read while the scrapers run. */
  underScrapes: Summary;
  /** Scrapes completed per second meanwhile (all scrapers). */
  scrapesPerSec: number;
  /** under / alone (1× = the scrapers cost the read nothing). */
  ratios: { p50: number | null; p99: number | null };
}

const READ = "/api/dashboard/agents/status";

/**
 * One caller must not starve the others: a dashboard read's latency alone, then while `scrapers`
 * loops scrape /metrics as fast as they can (a child process, so the runner's timing is its own).
 */
export async function scrapeStorm(p: ScrapeStormParams): Promise<ScrapeStormResult> {
  const namespace = benchNamespace("scrape");
  const daemon = await startBenchDaemon(namespace);
  const scrapers = spawnTs(
    "scrapers",
    "bench/load/scrapers.ts",
    { SCRAPE_URL: `${daemon.url}/metrics`, SCRAPERS: String(p.scrapers) },
    { ipc: true },
  );
  try {
    await boundedRun(p.agents, 16, async (i) => {
      const r = await daemon.api(
        "POST",
        "/api/agents/register",
        { name: `storm-${i}`, role: `role-${i % 20}`, capabilities: [`storm.t${i % 50}`] },
        TOKENS.agentSecret,
      );
      if (r.status !== 201 && r.status !== 200)
        throw new Error(`register: ${r.status} ${JSON.stringify(r.body)}`);
    });
    await nextMessage(scrapers, (m) => m.type === "loaded", 20_000, "scrapers start");
    const read = async () => {
      const r = await daemon.api("GET", READ, undefined, TOKENS.viewer);
      if (r.status !== 200) throw new Error(`${READ}: ${r.status}`);
    };
    await boundedRun(20, 1, read); // warm-up
    const alone = await boundedRun(p.reads, 1, read);
    send(scrapers, { type: "start" });
    await nextMessage(scrapers, (m) => m.type === "started", 10_000, "scrapers running");
    const under = await boundedRun(p.reads, 1, read);
    send(scrapers, { type: "stop" });
    const stopped = await nextMessage<{ type: string; scrapes: number; ms: number }>(
      scrapers,
      (m) => m.type === "stopped",
      30_000,
      "scrapers stop",
    );
    const a = summarize(alone);
    const u = summarize(under);
    return {
      params: p,
      namespace,
      alone: a,
      underScrapes: u,
      scrapesPerSec: Math.round((stopped.scrapes / Math.max(1, stopped.ms)) * 1000),
      ratios: { p50: ratio(u.p50, a.p50), p99: ratio(u.p99, a.p99) },
    };
  } finally {
    await stopChild(scrapers.proc, "SIGKILL");
    await daemon.close().catch(() => {});
  }
}

/** The scenario's table (Markdown). */
export function scrapeStormMarkdown(r: ScrapeStormResult): string {
  const ms = (v: number | null | undefined) => (v == null ? "–" : v.toFixed(1));
  const x = (v: number | null) => (v == null ? "–" : `${v.toFixed(2)}×`);
  return [
    `${r.params.agents} agents registered; \`GET ${READ}\` ${r.params.reads} times one at a time, alone, then while ` +
      `${r.params.scrapers} loops scrape \`/metrics\` back to back (${r.scrapesPerSec.toLocaleString("en-US")} scrapes/s).`,
    "",
    "| read | alone | under the scrapers | under / alone |",
    "| --- | --: | --: | --: |",
    `| p50 (ms) | ${ms(r.alone.p50)} | ${ms(r.underScrapes.p50)} | ${x(r.ratios.p50)} |`,
    `| p99 (ms) | ${ms(r.alone.p99)} | ${ms(r.underScrapes.p99)} | ${x(r.ratios.p99)} |`,
  ].join("\n");
}
