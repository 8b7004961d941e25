/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every `everyMs` until it returns a truthy value; throws after `timeoutMs`. */
export async function until<T>(
  check: () => Promise<T | undefined | null | false>,
  opts: { timeoutMs: number; everyMs?: number; what: string },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}`);
    await sleep(opts.everyMs ?? 25);
  }
}

/** Rejects with a clear message when `promise` takes longer than `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `task(i)` for i in 0..count-1 with at most `concurrency` in flight; returns each call's
 * latency in ms (in index order). The first failure stops new calls and is rethrown.
 */
export async function boundedRun(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<number[]> {
  const latencies = new Array<number>(count).fill(0);
  let next = 0;
  let failed: unknown;
  const lane = async () => {
    while (failed === undefined) {
      const i = next++;
      if (i >= count) return;
      const t0 = performance.now();
      try {
        await task(i);
      } catch (error) {
        failed ??= error;
        return;
      }
      latencies[i] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, lane));
  if (failed !== undefined) throw failed;
  return latencies;
}
