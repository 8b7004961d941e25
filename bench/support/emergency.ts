/**
 * Cleanups still owed (namespaces, key prefixes), run by the runner when it is interrupted before a
 * scenario's own `finally` could. A scenario registers one when it creates data and unregisters it
 * once it cleaned up.
 */
const owed = new Set<() => Promise<unknown>>();

export function onEmergency(cleanup: () => Promise<unknown>): () => void {
  owed.add(cleanup);
  return () => owed.delete(cleanup);
}

/** Runs every owed cleanup, bounded by `timeoutMs` in total. */
export async function runEmergencyCleanups(timeoutMs = 10_000): Promise<void> {
  const all = Promise.allSettled([...owed].map((fn) => fn()));
  owed.clear();
  await Promise.race([all, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
}
