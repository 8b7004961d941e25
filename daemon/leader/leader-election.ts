import type { EventBus } from "../events/event-bus.ts";
import { LoopStats } from "../lifecycle/loop-stats.ts";
import { raceTimer } from "../lifecycle/race-timer.ts";
import type { LeaderLease } from "../store/redis/leader-lease.ts";
import { actAsLeader, type FencedError, type LeaderTerm } from "./fence-context.ts";

/** Fenced transactions of one term not yet added to its `leader_terms` row. */
export interface TermActions {
  epoch: number;
  replicaId: string;
  actions: number;
  firstAt: Date;
  lastAt: Date;
}

/** Where the fence lives (Postgres); daemon/store/leader-fence-store.ts. */
export interface FenceStore {
  floor(): Promise<number>;
  install(epoch: number, replicaId: string, lockTimeoutMs: number): Promise<boolean>;
  /** Adds counted fenced transactions to the term's row (best effort, never fenced). */
  recordActions(stats: TermActions): Promise<void>;
}

export type LeaderLossReason = "lease_lost" | "redis_error" | "fenced" | "expired_locally" | "stopping";

/**
 * This replica's side of leader election. Leadership needs three things: the Redis lease (epoch),
 * the epoch installed in Postgres's fence, and a renewal less than one lease time ago by this
 * process's monotonic clock — the last one makes a replica resumed after a pause (SIGSTOP, a long
 * GC, a frozen VM) stop acting before its next tick, and the fence refuses whatever slips past.
 * Followers poll every third of the lease and, once it has less than that left, try again right
 * when it expires: a killed leader is replaced within one lease time of its last renewal, one that
 * stopped cleanly (and released the lease) within a third of it.
 */
export class LeaderElection {
  private epoch = 0;
  private installed = false;
  private renewedAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  /** This term's fenced transactions since the last flush to `leader_terms`. */
  private unrecorded: TermActions | null = null;
  private readonly stats = new LoopStats();

  constructor(
    private readonly lease: LeaderLease,
    private readonly fence: FenceStore,
    private readonly bus: EventBus,
    private readonly onError: (error: unknown) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True while this replica may act as leader. */
  isLeader(): boolean {
    if (this.epoch === 0 || !this.installed) return false;
    if (this.now() - this.renewedAt >= this.lease.ttlMs) {
      this.stepDown("expired_locally");
      return false;
    }
    return true;
  }

  /** The epoch led now, 0 when following. */
  currentEpoch(): number {
    return this.isLeader() ? this.epoch : 0;
  }

  /**
   * Runs a leader-only pass, fenced: every Postgres transaction it opens checks the fence first.
   * Does nothing on a follower.
   */
  async asLeader(fn: () => Promise<unknown>): Promise<void> {
    if (!this.isLeader()) return;
    const term: LeaderTerm = {
      epoch: this.epoch,
      replicaId: this.lease.replicaId,
      idleTimeoutMs: this.lease.ttlMs,
      onFenced: (error: FencedError) => {
        this.bus.emit("leader.fenced", { epoch: error.epoch });
        if (this.epoch === error.epoch) this.stepDown("fenced");
      },
      onAction: (at: Date) => this.countAction(term.epoch, at),
    };
    await actAsLeader(term, fn);
  }

  status() {
    return this.stats.status("leader", Math.max(50, Math.floor(this.lease.ttlMs / 3)));
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops trying and gives the lease up so a follower takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    const epoch = this.epoch;
    if (epoch > 0) this.stepDown("stopping");
    await this.flushActions().catch(this.onError);
    await this.lease.release(epoch);
  }

  /** One election pass; returns when to run the next. Public for tests. */
  async tick(): Promise<number> {
    const ttl = this.lease.ttlMs;
    const renewEvery = Math.max(50, Math.floor(ttl / 3));
    // The floor is read only while following: a leader's own epoch is above it already. Bounded,
    // so a hung Postgres cannot stop this loop (the follower tries again next tick).
    const floor =
      this.epoch > 0
        ? 0
        : await raceTimer(this.fence.floor(), renewEvery, () => {
            throw new Error(`reading the fence took longer than ${renewEvery} ms`);
          });
    const startedAt = this.now();
    let answer: Awaited<ReturnType<LeaderLease["tryAcquire"]>>;
    try {
      answer = await this.lease.tryAcquire(floor);
    } catch (error) {
      // Unsure whether we still hold the lease: stop acting until a renewal succeeds.
      if (this.epoch > 0) this.stepDown("redis_error");
      throw error;
    }
    if (answer.epoch === 0) {
      if (this.epoch > 0) this.stepDown("lease_lost");
      // Poll every third of the lease (a released lease is seen that soon), and when it has less
      // left than that, wake right as it expires (a dead holder is replaced without delay).
      return Math.min(renewEvery, answer.heldByOtherForMs + 5);
    }
    if (answer.epoch !== this.epoch) {
      if (this.epoch > 0) this.stepDown("lease_lost");
      this.epoch = answer.epoch;
      this.installed = false;
    }
    // Counted from before the round trip: the lease may have been set that long ago.
    this.renewedAt = startedAt;
    // Renewal never waits for Postgres: the term's counts are written in the background.
    void this.flushActions().catch(this.onError);
    if (!this.installed) {
      // The install waits at most a third of the lease for an old leader's transactions to end
      // (Postgres ends one left idle for a lease time); meanwhile the next tick renews the lease.
      const ok = await this.fence.install(answer.epoch, this.lease.replicaId, renewEvery);
      if (!ok) {
        // The fence names a newer epoch: our lease is a leftover. Let it go and follow.
        const stale = this.epoch;
        this.epoch = 0;
        await this.lease.release(stale);
        return renewEvery;
      }
      this.installed = true;
      this.bus.emit("leader.acquired", { epoch: answer.epoch });
    }
    return renewEvery;
  }

  private countAction(epoch: number, at: Date): void {
    const u = this.unrecorded;
    if (u && u.epoch === epoch) {
      u.actions++;
      if (at < u.firstAt) u.firstAt = at;
      if (at > u.lastAt) u.lastAt = at;
      return;
    }
    // A new term: what the old one counted is flushed first.
    void this.flushActions().catch(this.onError);
    this.unrecorded = { epoch, replicaId: this.lease.replicaId, actions: 1, firstAt: at, lastAt: at };
  }

  /** Writes the counted actions to the term's row; kept for the next try when Postgres fails. */
  async flushActions(): Promise<void> {
    const u = this.unrecorded;
    if (!u) return;
    this.unrecorded = null;
    try {
      await this.fence.recordActions(u);
    } catch (error) {
      const now = this.unrecorded as TermActions | null;
      if (!now) this.unrecorded = u;
      else if (now.epoch === u.epoch) {
        now.actions += u.actions;
        if (u.firstAt < now.firstAt) now.firstAt = u.firstAt;
        if (u.lastAt > now.lastAt) now.lastAt = u.lastAt;
      }
      throw error;
    }
  }

  private stepDown(reason: LeaderLossReason): void {
    const epoch = this.epoch;
    const wasLeader = this.installed;
    this.epoch = 0;
    this.installed = false;
    if (wasLeader) this.bus.emit("leader.lost", { epoch, reason });
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      let next = Math.max(50, Math.floor(this.lease.ttlMs / 3));
      this.stats.started();
      this.running = this.tick()
        .then((ms) => {
          next = ms;
          this.stats.succeeded();
        })
        .catch((error) => {
          this.stats.failed(error);
          this.onError(error);
        })
        .finally(() => {
          this.running = null;
          this.schedule(next);
        });
    }, delayMs);
    this.timer.unref();
  }
}
