/**
 * A result shared by every caller for `minIntervalMs` after it was made, and by every caller that
 * asks while it is being made: however many scrape at once, `/metrics` renders once, and a
 * scrape-time read (the state and figure gauges) runs once. A failed make is not kept (the next
 * caller tries again); the gauges' reads never fail, they empty their gauges instead.
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
