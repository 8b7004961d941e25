import { sharedResult } from "../telemetry/scrape-throttle.ts";

/**
 * Reads shared by every caller that asks for the same key within `ttlMs` of the read, or while it
 * runs: a whole-fleet dashboard read at 10,000 agents is made once per interval however many
 * dashboards, console pages and feed snapshots ask. Each answer carries its own `generatedAt`, so
 * its age is visible. `ttlMs` 0 shares only reads in flight. At most `maxKeys` keys are kept (filters
 * are few); past that, the table starts over.
 */
export class SharedReads {
  private readonly byKey = new Map<string, () => Promise<unknown>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxKeys = 64,
  ) {}

  get<T>(key: string, read: () => Promise<T>): Promise<T> {
    let shared = this.byKey.get(key);
    if (!shared) {
      if (this.byKey.size >= this.maxKeys) this.byKey.clear();
      shared = sharedResult(read, this.ttlMs);
      this.byKey.set(key, shared);
    }
    return shared() as Promise<T>;
  }
}
