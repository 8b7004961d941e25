import { FEED_NAMES, type FeedFilter, type FeedName } from "../../contract/feed-protocol.ts";
import type { OverseerEvent } from "../events/catalogue.ts";
import type { FeedStream, StreamEntry } from "../store/redis/feed-stream.ts";
import type { OverseerMetrics } from "../telemetry/metrics.ts";
import type { DropReason } from "./close-codes.ts";
import { FeedSession, type FeedSocket, type SessionLimits } from "./feed-session.ts";
import { EVENT_TOPIC, isStreamed } from "./feed-topics.ts";

/** Reads the snapshot of a feed (real data: the dashboard reads), narrowed by the connect filter. */
export type SnapshotReader = (feed: FeedName, filter: FeedFilter) => Promise<Record<string, unknown>>;

export interface FeedLimits extends SessionLimits {
  pingIntervalMs: number;
}

/**
 * The WebSocket feeds of one replica: publishes the bus's events to the namespace stream, fans the
 * stream out to the local sessions (each event serialised once), answers connects with a snapshot
 * or a replay, pings, and closes everything on shutdown.
 */
export class FeedHub {
  private readonly byFeed = new Map<FeedName, Set<FeedSession>>(FEED_NAMES.map((f) => [f, new Set()]));
  /** Dropped sessions whose socket has not closed yet (a slow consumer's close frame waits behind its data). */
  private readonly closing = new Set<FeedSession>();
  private pingTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  private readonly closedWaiters = new Set<() => void>();

  constructor(
    private readonly stream: FeedStream,
    private readonly snapshot: SnapshotReader,
    private readonly limits: FeedLimits,
    private readonly metrics: OverseerMetrics,
    private readonly onError: (error: unknown, context: string) => void,
  ) {}

  /** The event-bus sink: every streamed event goes to Redis, and from there to every replica. */
  readonly sink = (event: OverseerEvent): void => {
    if (isStreamed(event.type)) this.stream.publish(event);
  };

  async start(): Promise<void> {
    await this.stream.start((entries) => this.fanOut(entries));
    this.pingTimer = setInterval(() => this.pingAll(), this.limits.pingIntervalMs);
    this.pingTimer.unref();
  }

  /** Connected sessions (all feeds; not the dropped ones still closing), for tests. */
  sessions(): FeedSession[] {
    return [...this.byFeed.values()].flatMap((s) => [...s]);
  }

  /**
   * Registers a client and starts its catch-up: a replay since `since` when given (or a reset and a
   * snapshot when that id is gone), else a snapshot. Events arriving meanwhile are queued.
   */
  open(socket: FeedSocket, feed: FeedName, opts: { filter: FeedFilter; since?: string }): FeedSession {
    const session = new FeedSession(feed, socket, this.limits, opts.filter, (s, reason) =>
      this.dropped(s, reason),
    );
    this.byFeed.get(feed)?.add(session);
    this.metrics.wsClients.inc({ feed });
    void this.catchUp(session, opts.filter, opts.since).catch((error) => {
      this.onError(error, "feed catch-up");
      session.drop("error");
    });
    return session;
  }

  /** The socket is gone: forget the session. */
  closed(session: FeedSession): void {
    session.markClosed();
    this.forget(session);
    this.closing.delete(session);
    if (this.connections() === 0) for (const done of [...this.closedWaiters]) done();
  }

  private forget(session: FeedSession): void {
    const set = this.byFeed.get(session.feed);
    if (set?.delete(session)) this.metrics.wsClients.dec({ feed: session.feed });
  }

  /** Sockets this replica holds, until each closes (dropped ones still closing too): the feed cap counts these. */
  connections(): number {
    let n = this.closing.size;
    for (const set of this.byFeed.values()) n += set.size;
    return n;
  }

  private async catchUp(session: FeedSession, filter: FeedFilter, since?: string): Promise<void> {
    if (since !== undefined) {
      const replay = await this.stream.replay(since, this.limits.maxQueuedMessages, (e) => session.wants(e));
      if ("entries" in replay) {
        session.sendNow(
          Buffer.from(JSON.stringify({ type: "resumed", since, replayed: replay.entries.length })),
        );
        for (const entry of replay.entries) session.sendNow(frameOf(entry));
        // Live from the last entry read: the unwanted ones after the last replayed were skipped too.
        session.goLive(replay.lastReadId);
        return;
      }
      session.sendNow(Buffer.from(JSON.stringify({ type: "reset", reason: replay.reset, since })));
    }
    // Registered before this read: every event after `lastEventId` is queued for the session, and
    // every event up to it happened before the snapshot was read.
    const lastEventId = await this.stream.lastId();
    const data = await this.snapshot(session.feed, filter);
    if (session.closed) return;
    session.sendNow(Buffer.from(JSON.stringify({ type: "snapshot", feed: session.feed, lastEventId, data })));
    session.goLive(lastEventId);
  }

  private fanOut(entries: StreamEntry[]): void {
    const sent: Partial<Record<FeedName, number>> = {};
    for (const entry of entries) {
      const topic = EVENT_TOPIC[entry.event.type];
      if (!topic) continue;
      let frame: Buffer | null = null;
      for (const feed of [topic, "dashboard"] as const) {
        const set = this.byFeed.get(feed);
        if (!set || set.size === 0) continue;
        for (const session of set) {
          if (!session.wants(entry.event)) continue;
          frame ??= frameOf(entry);
          if (session.event(entry.id, frame)) sent[feed] = (sent[feed] ?? 0) + 1;
        }
      }
    }
    for (const [feed, n] of Object.entries(sent)) this.metrics.wsMessagesSent.inc({ feed }, n);
  }

  private pingAll(): void {
    for (const session of this.sessions()) {
      if (session.closed) continue;
      if (!session.alive) {
        session.drop("ping_timeout");
        continue;
      }
      session.alive = false;
      session.ping();
    }
  }

  private dropped(session: FeedSession, reason: DropReason): void {
    this.metrics.wsClientsDropped.inc({ reason });
    // Gone for the fan-out and the gauge now; its socket may take a while to close (terminated on stop).
    this.forget(session);
    if (reason === "ping_timeout") this.closed(session);
    else this.closing.add(session);
  }

  /**
   * Closes every client with 1001 and stops the stream. Clients that do not finish the close
   * handshake within `graceMs` are terminated, so shutdown never waits on a silent client.
   */
  async stop(graceMs = 1_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    const all = this.sessions();
    for (const session of all) session.drop("shutdown");
    if (this.connections() > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        this.closedWaiters.add(done);
      });
    }
    for (const session of [...this.closing, ...this.sessions()]) {
      session.terminate();
      this.closed(session);
    }
    await this.stream.stop();
  }

  get isStopping(): boolean {
    return this.stopping;
  }
}

function frameOf(entry: StreamEntry): Buffer {
  return Buffer.from(`{"type":"event","id":"${entry.id}","event":${entry.json}}`);
}
