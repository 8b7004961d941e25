// Scrapes every replica's /metrics once a second during the run and keeps the series the checker
// needs (prom-text.ts KEPT_METRICS). A failed scrape is kept too, as Prometheus' `up` 0.
import { sleep } from "../support/timing.ts";
import { parseKept } from "./prom-text.ts";
import type { Sample } from "./records.ts";
import type { ReplicaSet } from "./replicas.ts";

export class Scraper {
  readonly samples: Sample[] = [];
  private stopped = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly replicas: ReplicaSet,
    private readonly everyMs = 1000,
    /** Under the interval, so one slow scrape does not shift the next. */
    private readonly timeoutMs = 900,
  ) {}

  start(): void {
    this.loops = this.replicas.replicas.map((r) => this.loop(r.index));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  /** One scrape of replica `i` now. */
  async scrape(i: number): Promise<Sample> {
    const r = this.replicas.replicas[i]!;
    const t = Date.now();
    const incarnation = r.incarnation;
    try {
      const res = await fetch(`${r.url}/metrics`, { signal: AbortSignal.timeout(this.timeoutMs) });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      return { t, replica: i, incarnation, up: true, series: parseKept(await res.text()) };
    } catch (error) {
      const e = error as Error & { cause?: { code?: string } };
      return { t, replica: i, incarnation, up: false, error: e.cause?.code ?? e.name, series: {} };
    }
  }

  private async loop(i: number): Promise<void> {
    let next = Date.now();
    while (!this.stopped) {
      this.samples.push(await this.scrape(i));
      next += this.everyMs;
      await sleep(Math.max(0, next - Date.now()));
    }
  }
}
