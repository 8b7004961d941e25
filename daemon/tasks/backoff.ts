/**
 * Exponential backoff with "equal jitter": half the exponential delay is fixed, half is random,
 * so retries of many tasks that failed together spread out but never come back immediately.
 * `random` is injected so tests are deterministic.
 */
export function retryDelayMs(
  failuresSoFar: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, failuresSoFar - 1);
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(exponent, 30));
  const half = ceiling / 2;
  return Math.round(half + random() * half);
}
