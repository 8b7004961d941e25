import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";

/** Delayed tasks due within the same slice of this many ms share one wake-up timer. */
const DUE_BUCKET_MS = 50;
/** Past this many pending wake-up timers, later delayed tasks are found by the claims' own poll. */
const MAX_DUE_TIMERS = 10_000;

/**
 * Wakes long-polling claims when a task type gets claimable work, on every replica: a local
 * notify wakes local waiters at once and is published so the other replicas wake theirs.
 */
export class ReadySignal {
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly due = new Map<string, { count: number; timer: NodeJS.Timeout }>();
  private subscribed = false;
  private stopped = false;

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly channel: string,
    private readonly onError: (error: Error) => void,
    /** Tags this replica's publications, so it does not wake a second waiter on its own message. */
    private readonly origin: string = randomUUID(),
  ) {}

  async start(): Promise<void> {
    if (this.subscribed) return;
    this.subscriber.on("message", (channel: string, message: string) => {
      if (channel !== this.channel) return;
      // "<origin> <type> <count>": the local notify already woke this replica's waiters. A replica
      // of an earlier version, mid rolling upgrade, sends "<type> <count>".
      const from = message.indexOf(" ");
      const at = message.lastIndexOf(" ");
      if (from === at) return this.wakeLocal(message.slice(0, at), Number(message.slice(at + 1)) || 1);
      if (message.slice(0, from) === this.origin) return;
      this.wakeLocal(message.slice(from + 1, at), Number(message.slice(at + 1)) || 1);
    });
    await this.subscriber.subscribe(this.channel);
    this.subscribed = true;
  }

  /**
   * Says `type` has `count` new claimable tasks: wakes that many waiters here and on each other
   * replica (not all of them: one task needs one claimant; the rest would race for nothing).
   */
  notify(type: string, count = 1): void {
    if (this.stopped) return;
    this.wakeLocal(type, count);
    this.publisher.publish(this.channel, `${this.origin} ${type} ${count}`).catch(this.onError);
  }

  /**
   * Notifies `type` once `delayMs` has passed (a delayed retry becoming claimable), so a waiting
   * claim takes it when it is due rather than at its next once-a-second poll. Tasks due in the same
   * 50 ms slice share a timer. Only this replica holds the timer; if it stops first, the claims'
   * poll still finds the task.
   */
  notifyWhenDue(type: string, delayMs: number, count = 1): void {
    if (this.stopped) return;
    const at = Math.ceil((Date.now() + delayMs) / DUE_BUCKET_MS) * DUE_BUCKET_MS;
    const key = `${at} ${type}`;
    const pending = this.due.get(key);
    if (pending) {
      pending.count += count;
      return;
    }
    if (this.due.size >= MAX_DUE_TIMERS) return;
    const entry = {
      count,
      timer: setTimeout(
        () => {
          this.due.delete(key);
          this.notify(type, entry.count);
        },
        Math.max(0, at - Date.now()),
      ),
    };
    entry.timer.unref();
    this.due.set(key, entry);
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

  private wakeLocal(type: string, count: number): void {
    const set = this.waiters.get(type);
    if (!set) return;
    // Oldest waiters first (a Set iterates in insertion order).
    for (const fn of [...set].slice(0, count)) fn();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.due.values()) clearTimeout(timer);
    this.due.clear();
    this.wakeAll();
    if (this.subscribed) await this.subscriber.unsubscribe(this.channel).catch(() => {});
    this.subscribed = false;
  }
}
