/**
 * A result shared by every caller for `minIntervalMs` after it was made, and by every caller that
 * asks while it is being made: however many scrape at once, `/metrics` renders once. A failed
 * make is not kept (the next caller tries again).
 */
export function sharedResult<T>(
  make: () => Promise<T>,
  minIntervalMs: number,
  now: () => number = Date.now,
): () => Promise<T> {
  let kept: { value: T; at: number } | null = null;
  let inflight: Promise<T> | null = null;
  return () => {
    if (kept && now() - kept.at < minIntervalMs) return Promise.resolve(kept.value);
    inflight ??= make()
      .then((value) => {
        kept = { value, at: now() };
        return value;
      })
      .finally(() => {
        inflight = null;
      });
    return inflight;
  };
}

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
