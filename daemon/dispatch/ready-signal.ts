import type { Redis } from "ioredis";

/**
 * Wakes long-polling claims when a task type gets claimable work, on every replica: a local
 * notify wakes local waiters at once and is published so the other replicas wake theirs.
 */
export class ReadySignal {
  private readonly waiters = new Map<string, Set<() => void>>();
  private subscribed = false;

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly channel: string,
    private readonly onError: (error: Error) => void,
  ) {}

  async start(): Promise<void> {
    if (this.subscribed) return;
    this.subscriber.on("message", (channel: string, type: string) => {
      if (channel === this.channel) this.wakeLocal(type);
    });
    await this.subscriber.subscribe(this.channel);
    this.subscribed = true;
  }

  /** Says `type` has work: wakes waiters here and on the other replicas. */
  notify(type: string): void {
    this.wakeLocal(type);
    this.publisher.publish(this.channel, type).catch(this.onError);
  }

  /** Resolves when any of `types` is notified, after `timeoutMs`, or when `signal` aborts. */
  wait(types: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted || timeoutMs <= 0) return resolve();
      const done = () => {
        clearTimeout(timer);
        for (const t of types) this.waiters.get(t)?.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      for (const t of types) {
        let set = this.waiters.get(t);
        if (!set) {
          set = new Set();
          this.waiters.set(t, set);
        }
        set.add(done);
      }
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  /** Wakes everyone (shutdown). */
  wakeAll(): void {
    for (const set of this.waiters.values()) for (const fn of [...set]) fn();
  }

  private wakeLocal(type: string): void {
    const set = this.waiters.get(type);
    if (set) for (const fn of [...set]) fn();
  }

  async stop(): Promise<void> {
    this.wakeAll();
    if (this.subscribed) await this.subscriber.unsubscribe(this.channel).catch(() => {});
    this.subscribed = false;
  }
}
