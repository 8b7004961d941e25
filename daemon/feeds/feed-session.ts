import type { FeedFilter, FeedName, ServerMessage } from "../../contract/feed-protocol.ts";
import type { EventType } from "../events/catalogue.ts";
import { CLOSE_CODES, type DropReason } from "./close-codes.ts";
import { compareStreamIds, feedCarries, matchesFilter } from "./feed-topics.ts";

/** The part of a `ws` WebSocket a session uses (so it can be tested without a socket). */
export interface FeedSocket {
  readonly bufferedAmount: number;
  send(data: Buffer, options: { binary: boolean }): void;
  close(code: number, reason: string): void;
  terminate(): void;
  ping(): void;
}

export interface SessionLimits {
  /** Messages held while the snapshot or replay is read; more is a slow consumer. */
  maxQueuedMessages: number;
  /** Bytes the socket may hold unsent (ws `bufferedAmount`) before the next send; more is a slow consumer. */
  maxBufferedBytes: number;
}

export const MAX_SUBSCRIPTIONS = 32;

interface Queued {
  /** Stream id of an event (deduplicated against the catch-up floor); null for control messages. */
  id: string | null;
  frame: Buffer;
}

/**
 * One connected client of one feed. Until its snapshot or replay has been sent it queues what
 * arrives (bounded by `maxQueuedMessages`); then it sends directly, as long as the socket's unsent
 * bytes stay under `maxBufferedBytes`. Either bound exceeded closes it with 4008: memory per client
 * stays at most the bound plus one message, however slowly the client reads.
 */
export class FeedSession {
  private readonly subscriptions = new Map<string, FeedFilter>();
  private queue: Queued[] | null = [];
  closed = false;
  /** Set by every pong; the ping sweep drops a session that did not answer the previous ping. */
  alive = true;
  /** High-water marks, for tests and the bench: the bounds hold. */
  readonly stats = { maxBufferedAmount: 0, maxQueued: 0, largestFrame: 0, sent: 0 };

  constructor(
    readonly feed: FeedName,
    private readonly socket: FeedSocket,
    private readonly limits: SessionLimits,
    initialFilter: FeedFilter,
    private readonly onDrop: (session: FeedSession, reason: DropReason) => void,
  ) {
    this.subscriptions.set("default", initialFilter);
  }

  /** Whether an event of this feed matches any of the client's subscriptions. */
  wants(event: { type: EventType }): boolean {
    if (!feedCarries(this.feed, event.type)) return false;
    for (const filter of this.subscriptions.values()) {
      if (matchesFilter(event as never, filter)) return true;
    }
    return false;
  }

  subscribe(id: string, filter: FeedFilter): boolean {
    if (!this.subscriptions.has(id) && this.subscriptions.size >= MAX_SUBSCRIPTIONS) return false;
    this.subscriptions.set(id, filter);
    return true;
  }

  unsubscribe(id: string): boolean {
    return this.subscriptions.delete(id);
  }

  /** A protocol message (snapshot, reset, acknowledgement), in order with the events. */
  control(message: ServerMessage): void {
    this.push(null, Buffer.from(JSON.stringify(message)));
  }

  /** An event frame (already serialised once for every client). Returns whether it went out now. */
  event(id: string, frame: Buffer): boolean {
    return this.push(id, frame);
  }

  /**
   * Ends the catch-up: sends what was queued, skipping events at or before `floor` (already in the
   * snapshot or the replay), and from now on sends directly.
   */
  goLive(floor: string): void {
    const queued = this.queue;
    this.queue = null;
    if (!queued) return;
    for (const q of queued) {
      if (this.closed) return;
      if (q.id !== null && compareStreamIds(q.id, floor) <= 0) continue;
      this.send(q.frame);
    }
  }

  /** Sends directly during the catch-up (the snapshot or replayed events go before the queue). */
  sendNow(frame: Buffer): void {
    this.send(frame);
  }

  private push(id: string | null, frame: Buffer): boolean {
    if (this.closed) return false;
    if (this.queue) {
      this.queue.push({ id, frame });
      this.stats.maxQueued = Math.max(this.stats.maxQueued, this.queue.length);
      if (this.queue.length > this.limits.maxQueuedMessages) this.drop("slow_consumer");
      return false;
    }
    return this.send(frame);
  }

  private send(frame: Buffer): boolean {
    if (this.closed) return false;
    const buffered = this.socket.bufferedAmount;
    if (buffered > this.stats.maxBufferedAmount) this.stats.maxBufferedAmount = buffered;
    // One message may go out over the bound (a large snapshot to an idle socket), never a second.
    if (buffered > this.limits.maxBufferedBytes) {
      this.drop("slow_consumer");
      return false;
    }
    if (frame.length > this.stats.largestFrame) this.stats.largestFrame = frame.length;
    this.socket.send(frame, { binary: false });
    this.stats.sent++;
    return true;
  }

  /** Closes with the code that goes with `reason`, drops the queue and reports it once. */
  drop(reason: DropReason): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = null;
    if (reason === "ping_timeout") this.socket.terminate();
    else if (reason === "slow_consumer") {
      const { code, reason: text } = CLOSE_CODES.SLOW_CONSUMER;
      // Queued behind what the client has not read yet: it sees 4008 once it reads again, and ws
      // destroys the socket after its close timeout (30 s) if it never does. Nothing more is sent.
      this.socket.close(code, text);
    } else if (reason === "shutdown") {
      this.socket.close(CLOSE_CODES.GOING_AWAY.code, CLOSE_CODES.GOING_AWAY.reason);
    } else {
      this.socket.close(CLOSE_CODES.INTERNAL_ERROR.code, CLOSE_CODES.INTERNAL_ERROR.reason);
    }
    this.onDrop(this, reason);
  }

  ping(): void {
    try {
      this.socket.ping();
    } catch {
      // Not open (closing): the close event follows.
    }
  }

  /** Destroys the socket at once (shutdown after the grace time). */
  terminate(): void {
    this.closed = true;
    this.queue = null;
    this.socket.terminate();
  }

  /** The socket closed (either side): no more sends. */
  markClosed(): void {
    this.closed = true;
    this.queue = null;
  }
}
