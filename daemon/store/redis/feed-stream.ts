import type { Redis } from "ioredis";
import type { OverseerEvent } from "../../events/catalogue.ts";
import { compareStreamIds, parseStreamId } from "../../feeds/feed-topics.ts";

/** One stream entry: its id (the event id clients resume from), the event and its JSON. */
export interface StreamEntry {
  id: string;
  json: string;
  event: OverseerEvent;
}

/**
 * A replay: the wanted entries after the id, and the id of the last entry read (wanted or not), from
 * which the client goes live; or a reset.
 */
export type ReplayResult =
  | { entries: StreamEntry[]; lastReadId: string }
  | { reset: "too_old" | "unknown_id"; lastId: string };

/** Events waiting for their XADD before new ones are dropped (Redis unreachable). */
const MAX_PENDING_PUBLISHES = 10_000;
const READ_BATCH = 1_000;
const BLOCK_MS = 1_000;
const REPLAY_PAGE = 500;
/** Trimming by age at most this often: each XTRIM walks the stream's oldest nodes. */
const TRIM_EVERY_MS = 1_000;

/**
 * The namespace's event stream in Redis: every replica XADDs the events its bus emits (batched per
 * tick), and one reader per replica XREADs BLOCK from the last id it saw and hands each batch to the
 * local fan-out. The stream id is the event id a client resumes from.
 *
 * Retention is sized in time, capped in entries: entries younger than `retentionMs` are kept (an
 * `XTRIM MINID ~` at most once a second), so a client can resume after that long however much
 * other traffic passed (its own missed events are bounded by the replay's `max`), unless the stream
 * reaches `maxLen` entries (`MAXLEN ~` on every XADD), the bound on Redis memory. The age is measured on the stream's own ids (Redis's clock), not this replica's.
 */
export class FeedStream {
  private pending: string[] = [];
  private inFlight = 0;
  private scheduled = false;
  private stopped = false;
  private loop: Promise<void> | null = null;
  /** Events not published because too many were waiting (for logs and tests). */
  dropped = 0;

  constructor(
    /** A shared, non-blocking connection: XADD, XRANGE, XINFO. */
    private readonly redis: Redis,
    /** A dedicated connection for the blocking XREAD; disconnected by stop(). */
    private readonly reader: Redis,
    private readonly key: string,
    /** Hard cap on entries (`MAXLEN ~`). */
    private readonly maxLen: number,
    private readonly onError: (error: unknown, context: string) => void,
    /** Entries younger than this are kept (unless over `maxLen`); 0 trims by count only. */
    private readonly retentionMs = 0,
  ) {}

  /** The stream time (ms of the newest id added) of the last age trim. */
  private lastTrimMs = 0;

  /** Queues one event for XADD (never blocks the emitter; bounded while Redis is away). */
  publish(event: OverseerEvent): void {
    if (this.stopped) return;
    if (this.pending.length + this.inFlight >= MAX_PENDING_PUBLISHES) {
      this.dropped++;
      return;
    }
    this.pending.push(JSON.stringify(event));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const json of batch) pipeline.xadd(this.key, "MAXLEN", "~", this.maxLen, "*", "e", json);
    this.inFlight += batch.length;
    pipeline.exec().then(
      (results) => {
        this.inFlight -= batch.length;
        const failed = results?.find(([error]) => error)?.[0];
        if (failed) this.onError(failed, "feed publish");
        this.trimByAge(results?.at(-1)?.[1]);
      },
      (error) => {
        this.inFlight -= batch.length;
        this.onError(error, "feed publish");
      },
    );
  }

  /** Drops entries older than the retention window, measured back from the newest id just added. */
  private trimByAge(newestId: unknown): void {
    if (this.retentionMs <= 0 || typeof newestId !== "string") return;
    const newestMs = Number(newestId.split("-")[0]);
    if (!Number.isFinite(newestMs) || newestMs - this.lastTrimMs < TRIM_EVERY_MS) return;
    this.lastTrimMs = newestMs;
    const minId = `${Math.max(0, newestMs - this.retentionMs)}-0`;
    this.redis.call("XTRIM", this.key, "MINID", "~", minId).catch((e) => this.onError(e, "feed trim"));
  }

  /** The id of the newest entry, or "0-0" when the stream is empty or missing. */
  async lastId(): Promise<string> {
    const rows = (await this.redis.xrevrange(this.key, "+", "-", "COUNT", 1)) as Array<[string, string[]]>;
    return rows[0]?.[0] ?? "0-0";
  }

  /** Starts the reader: `deliver` gets every entry added after start, in stream order. */
  async start(deliver: (entries: StreamEntry[]) => void): Promise<void> {
    const from = await this.lastId();
    this.loop = this.read(from, deliver);
  }

  private async read(from: string, deliver: (entries: StreamEntry[]) => void): Promise<void> {
    let last = from;
    while (!this.stopped) {
      try {
        const reply = (await this.reader.call(
          "XREAD",
          "COUNT",
          READ_BATCH,
          "BLOCK",
          BLOCK_MS,
          "STREAMS",
          this.key,
          last,
        )) as unknown[] | null;
        const rows = streamRows(reply);
        if (!rows || rows.length === 0) continue;
        const entries = toEntries(rows);
        last = rows[rows.length - 1]?.[0] ?? last;
        if (entries.length > 0) deliver(entries);
      } catch (error) {
        if (this.stopped) break;
        this.onError(error, "feed reader");
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /**
   * The entries after `since` that `wants` keeps, or a reset when some entries are gone (trimmed:
   * `too_old`) or the id was never issued by this stream (`unknown_id`). At most `max` wanted
   * entries (more is `too_old` too): only what the client would receive counts, so a filtered
   * client resumes across any amount of other traffic within the retention.
   */
  async replay(since: string, max: number, wants: (event: OverseerEvent) => boolean): Promise<ReplayResult> {
    const info = await this.info();
    // No stream yet: only the id of an empty stream ("0-0", a fresh snapshot's) is still good.
    if (!info && since === "0-0") return { entries: [], lastReadId: since };
    if (!info || !parseStreamId(since) || compareStreamIds(since, info.lastGeneratedId) > 0) {
      return { reset: "unknown_id", lastId: info?.lastGeneratedId ?? "0-0" };
    }
    // Trimming removes the oldest entries: an id before the oldest one kept may have lost successors.
    if (info.trimmed && info.firstId && compareStreamIds(since, info.firstId) < 0) {
      return { reset: "too_old", lastId: info.lastGeneratedId };
    }
    const entries: StreamEntry[] = [];
    let from = since;
    for (;;) {
      const rows = (await this.redis.xrange(this.key, `(${from}`, "+", "COUNT", REPLAY_PAGE)) as Array<
        [string, string[]]
      >;
      for (const entry of toEntries(rows)) if (wants(entry.event)) entries.push(entry);
      if (entries.length > max) return { reset: "too_old", lastId: info.lastGeneratedId };
      const lastRow = rows[rows.length - 1];
      if (lastRow) from = lastRow[0];
      if (rows.length < REPLAY_PAGE || !lastRow) break;
    }
    return { entries, lastReadId: from };
  }

  /** XINFO STREAM: last generated id, oldest id kept, and whether any entry was removed; null when absent. */
  private async info(): Promise<{
    lastGeneratedId: string;
    firstId: string | null;
    trimmed: boolean;
  } | null> {
    let reply: unknown[];
    try {
      reply = (await this.redis.call("XINFO", "STREAM", this.key)) as unknown[];
    } catch (error) {
      if (/no such key/i.test((error as Error).message)) return null;
      throw error;
    }
    const field = (name: string) => {
      const i = reply.indexOf(name);
      return i >= 0 ? reply[i + 1] : undefined;
    };
    const first = field("first-entry") as [string, string[]] | null | undefined;
    const added = field("entries-added");
    return {
      lastGeneratedId: String(field("last-generated-id") ?? "0-0"),
      firstId: first?.[0] ?? null,
      // Redis < 7 does not say how many were added: assume trimmed.
      trimmed: added === undefined || Number(added) > Number(field("length") ?? 0),
    };
  }

  /** Stops publishing and the reader (its blocking read ends with the disconnect). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.reader.disconnect();
    await this.loop;
  }
}

/** XREAD's rows for our one stream: `[[key, rows]]`, or `[key, rows]` as some clients flatten it. */
function streamRows(reply: unknown[] | null): Array<[string, string[]]> | undefined {
  if (!reply || reply.length === 0) return undefined;
  const stream = (typeof reply[0] === "string" ? reply : reply[0]) as [string, Array<[string, string[]]>];
  return stream?.[1];
}

function toEntries(rows: Array<[string, string[]]>): StreamEntry[] {
  const entries: StreamEntry[] = [];
  for (const [id, fields] of rows) {
    const json = fields[1];
    if (fields[0] !== "e" || json === undefined) continue;
    try {
      entries.push({ id, json, event: JSON.parse(json) as OverseerEvent });
    } catch {
      // Not ours or damaged: skip it rather than break the feed.
    }
  }
  return entries;
}
