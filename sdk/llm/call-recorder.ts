import type { LlmCallRecord } from "../../contract/schemas/llm.ts";
// Delivers LLM call records to the daemon (`POST /api/llm/calls`) without making the caller wait:
// `record()` only appends to a bounded buffer; a flush loop sends batches in the background. A batch
// that fails in transit stays buffered and is sent again later; the daemon deduplicates by
// clientCallId, so the net effect is exactly one row per call as long as the buffer does not
// overflow. A batch the daemon rejects for one record it names loses only that record. See
// docs/llm-client.md, "Recording calls".

import { randomUUID } from "node:crypto";
import { type ApiError, type HttpClient, isApiError, type RetryPolicy } from "../http-client.ts";
import { type Clock, type Logger, noopLogger, sleep, systemClock, type TimerHandle } from "../runtime.ts";

/** One call as sent to the daemon (`POST /api/llm/calls`): the contract's record. */
export type { LlmCallRecord };

/** What `record()` takes: a record whose id the recorder may fill in. */
export type LlmCallEntry = Omit<LlmCallRecord, "clientCallId"> & { clientCallId?: string };

/** Counters since construction (buffered is the current size, in-flight batches included). */
export interface CallRecorderStats {
  buffered: number;
  /** Records the daemon accepted (new rows plus duplicates). */
  sent: number;
  /** Accepted records the daemon already had (a resend after a lost answer). */
  duplicates: number;
  /** Records dropped because the buffer was full (the oldest go first). */
  dropped: number;
  /** Batches the daemon rejected with a 4xx other than 401/429 without naming one bad record; dropped whole. */
  failedBatches: number;
  /** Records gone because the daemon rejected them: single records it named, plus those in failed batches. */
  rejected: number;
  /** Sends that failed in transit (network, 5xx, 429, 401) and were kept for later. */
  sendErrors: number;
}

export interface CallRecorderOptions {
  /** The agent's client for the daemon (retries, failover, timeouts). */
  http: HttpClient;
  /** The agent's current token; undefined while it has none (not registered yet), which pauses sending. */
  token: () => string | undefined;
  logger?: Logger;
  clock?: Clock;
  /** Generates clientCallIds; default crypto.randomUUID. */
  newId?: () => string;
  /** Buffer bound in records; default 10,000. */
  maxBuffered?: number;
  /** Flush interval; default 1 s. */
  flushMs?: number;
  /** Records per batch; default 200 (the daemon takes up to 1000). */
  maxBatchRecords?: number;
  /** Serialized size per batch; default 512 KiB (a single larger record goes alone). */
  maxBatchBytes?: number;
  /** Retries of one batch within a flush; default 3 attempts. */
  retry?: Partial<RetryPolicy>;
}

export interface FlushOptions {
  /** Keep trying (with backoff) through transient failures for up to this long; default: one pass. */
  timeoutMs?: number;
}

interface Buffered {
  record: LlmCallRecord;
  bytes: number;
}

export const DEFAULT_LLM_RECORDER_BUFFER = 10_000;
export const DEFAULT_LLM_FLUSH_MS = 1_000;
const DEFAULT_BATCH_RECORDS = 200;
const DEFAULT_BATCH_BYTES = 512 * 1024;
const DEFAULT_RETRY: Partial<RetryPolicy> = { maxAttempts: 3 };
const FLUSH_BACKOFF_MS = 250;
const MAX_FLUSH_BACKOFF_MS = 2_000;
const PATH = "/api/llm/calls";

/** Per-agent buffer of LLM call records with a background flush loop. */
export class CallRecorder {
  private readonly http: HttpClient;
  private readonly token: () => string | undefined;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly newId: () => string;
  private readonly maxBuffered: number;
  private readonly flushMs: number;
  private readonly maxBatchRecords: number;
  private readonly maxBatchBytes: number;
  private readonly retry: Partial<RetryPolicy>;
  /** Oldest first; excludes the batch being sent. */
  private buffer: Buffered[] = [];
  private inFlight = 0;
  private readonly counters = {
    sent: 0,
    duplicates: 0,
    dropped: 0,
    failedBatches: 0,
    rejected: 0,
    sendErrors: 0,
  };
  private timer: TimerHandle | undefined;
  private running = false;
  /** Serializes passes: the loop and flush() never send at the same time. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(opts: CallRecorderOptions) {
    this.http = opts.http;
    this.token = opts.token;
    this.logger = opts.logger ?? noopLogger;
    this.clock = opts.clock ?? systemClock;
    this.newId = opts.newId ?? randomUUID;
    this.maxBuffered = Math.max(1, Math.floor(opts.maxBuffered ?? DEFAULT_LLM_RECORDER_BUFFER));
    this.flushMs = Math.max(1, opts.flushMs ?? DEFAULT_LLM_FLUSH_MS);
    this.maxBatchRecords = Math.min(
      1000,
      Math.max(1, Math.floor(opts.maxBatchRecords ?? DEFAULT_BATCH_RECORDS)),
    );
    this.maxBatchBytes = Math.max(1, opts.maxBatchBytes ?? DEFAULT_BATCH_BYTES);
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
  }

  /** Buffers one record (never throws, never waits); returns its clientCallId, or undefined if unserializable. */
  record(entry: LlmCallEntry): string | undefined {
    const record: LlmCallRecord = { ...entry, clientCallId: entry.clientCallId ?? this.newId() };
    let bytes: number;
    try {
      bytes = Buffer.byteLength(JSON.stringify(record));
    } catch (err) {
      this.logger.warn(
        { err, clientCallId: record.clientCallId },
        "LLM call record is not serializable; dropped",
      );
      this.counters.dropped++;
      return undefined;
    }
    this.buffer.push({ record, bytes });
    this.trim();
    return record.clientCallId;
  }

  stats(): CallRecorderStats {
    return { buffered: this.buffer.length + this.inFlight, ...this.counters };
  }

  /** Starts the flush loop. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.arm();
  }

  /** Stops the flush loop (buffered records stay; call flush() first to send them). */
  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Sends everything buffered now. Resolves true when the buffer is empty, false when records are
   * left (the daemon stayed unreachable, or there is no token). Never rejects.
   */
  async flush(opts: FlushOptions = {}): Promise<boolean> {
    const timeoutMs = opts.timeoutMs ?? 0;
    const controller = new AbortController();
    const timer = timeoutMs > 0 ? this.clock.setTimeout(() => controller.abort(), timeoutMs) : undefined;
    try {
      for (let round = 0; ; round++) {
        const done = await this.exclusive(() => this.pass(controller.signal));
        if (done) return true;
        if (timeoutMs <= 0 || controller.signal.aborted) return false;
        const delay = Math.min(MAX_FLUSH_BACKOFF_MS, FLUSH_BACKOFF_MS * 2 ** round);
        if (!(await sleep(this.clock, delay, controller.signal))) return false;
      }
    } finally {
      if (timer !== undefined) this.clock.clearTimeout(timer);
    }
  }

  private arm(): void {
    if (!this.running || this.timer !== undefined) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.exclusive(() => this.pass()).finally(() => this.arm());
    }, this.flushMs);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn);
    this.chain = next.catch(() => {});
    return next;
  }

  /** Sends batches until the buffer is empty (true) or a send fails in transit (false). */
  private async pass(signal?: AbortSignal): Promise<boolean> {
    while (this.buffer.length > 0) {
      const token = this.token();
      if (token === undefined || signal?.aborted) return false;
      const batch = this.take();
      this.inFlight = batch.length;
      let outcome: "sent" | "keep" | "reject" | "split";
      /** Index of the one record the daemon blamed, when it named one. */
      let bad = -1;
      try {
        const res = await this.http.request<{ recorded?: number; duplicates?: number }>("POST", PATH, {
          token,
          body: { calls: batch.map((b) => b.record) },
          retry: this.retry,
          signal,
        });
        this.counters.sent += batch.length;
        this.counters.duplicates += typeof res?.duplicates === "number" ? res.duplicates : 0;
        outcome = "sent";
      } catch (err) {
        bad = isPermanent(err) ? badRecordIndex(err, batch.length) : -1;
        if (!isPermanent(err)) {
          outcome = "keep";
          this.counters.sendErrors++;
          this.logger.warn(
            { err, records: batch.length, buffered: this.buffer.length + batch.length },
            "could not deliver LLM call records; will retry",
          );
        } else if (bad >= 0) {
          outcome = "split";
          const { record } = batch[bad]!;
          this.counters.rejected++;
          this.logger.error(
            {
              clientCallId: record.clientCallId,
              taskId: record.taskId,
              status: err.status,
              code: err.code,
              reason: err.message,
              details: err.details,
            },
            "daemon rejected an LLM call record; dropped it, sending the rest of its batch again",
          );
        } else {
          outcome = "reject";
          this.counters.failedBatches++;
          this.counters.rejected += batch.length;
          this.logger.error(
            { err, records: batch.length, first: batch[0]?.record.clientCallId },
            "daemon rejected a batch of LLM call records; dropped",
          );
        }
      } finally {
        this.inFlight = 0;
      }
      if (outcome === "keep") {
        // Back to the front, oldest first, so order and the overflow policy stay as they were.
        this.buffer = batch.concat(this.buffer);
        this.trim();
        return false;
      }
      if (outcome === "split") {
        // The daemon takes a batch all or nothing, so the others were not stored: they go again in
        // this pass. Each round drops one record, so a batch of n bad records ends after n sends.
        batch.splice(bad, 1);
        this.buffer = batch.concat(this.buffer);
        this.trim();
      }
    }
    return true;
  }

  /** Removes the next batch from the front of the buffer. */
  private take(): Buffered[] {
    let n = 0;
    let bytes = 0;
    while (n < this.buffer.length && n < this.maxBatchRecords) {
      const size = this.buffer[n]!.bytes;
      if (n > 0 && bytes + size > this.maxBatchBytes) break;
      bytes += size;
      n++;
    }
    return this.buffer.splice(0, n);
  }

  /** Drops the oldest records not being sent while the buffer is over its bound. */
  private trim(): void {
    const over = this.buffer.length + this.inFlight - this.maxBuffered;
    if (over <= 0) return;
    const n = Math.min(over, this.buffer.length);
    this.buffer.splice(0, n);
    // Logged once per crossing of a power of ten, so a long outage does not flood the log.
    const before = this.counters.dropped;
    this.counters.dropped += n;
    if (String(before).length !== String(this.counters.dropped).length || before === 0) {
      this.logger.warn(
        { dropped: this.counters.dropped, maxBuffered: this.maxBuffered },
        "LLM call record buffer full; dropping the oldest records",
      );
    }
  }
}

/**
 * An answer that would never change for the same batch: any 4xx except 429 (busy) and 401 (the
 * agent's token is stale; it registers again and the batch goes with the new token).
 */
function isPermanent(err: unknown): err is ApiError {
  return isApiError(err) && err.status >= 400 && err.status < 500 && err.status !== 429 && err.status !== 401;
}

/**
 * The index of the one record the daemon blamed (`error.details.index`), or -1 when the batch must go
 * whole: no usable index, or a batch of one (dropping the record is dropping the batch).
 */
function badRecordIndex(err: ApiError, batchLength: number): number {
  const index = (err.details as { index?: unknown } | null | undefined)?.index;
  if (batchLength < 2 || typeof index !== "number" || !Number.isInteger(index)) return -1;
  return index >= 0 && index < batchLength ? index : -1;
}
