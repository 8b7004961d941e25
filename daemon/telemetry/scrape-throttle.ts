/**
 * A read done at scrape time, at most once per `minIntervalMs` however often Prometheus (or several)
 * scrape, and never twice at once: a scrape during a read waits for that read; one soon after it
 * answers from what the read left in the gauges.
 */
export function scrapeThrottle(read: () => Promise<void>, minIntervalMs: number): () => Promise<void> {
  let last = 0;
  let inflight: Promise<void> | null = null;
  return () => {
    if (Date.now() - last < minIntervalMs) return Promise.resolve();
    inflight ??= read().finally(() => {
      inflight = null;
      last = Date.now();
    });
    return inflight;
  };
}
