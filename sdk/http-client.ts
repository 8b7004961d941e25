import { type Clock, errorMessage, type Logger, noopLogger, sleep, systemClock } from "./runtime.ts";
import type { ErrorBody } from "./types.ts";

/** Bounded exponential backoff with jitter. */
export interface RetryPolicy {
  /** Total tries of one request, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** About 3 s of retrying in total before a request gives up. */
export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 3_000 };

/** Status 0 marks failures below HTTP (connection refused/reset, timeout). */
const NETWORK_STATUS = 0;
const TRANSIENT_STATUSES = new Set([NETWORK_STATUS, 429, 502, 503, 504]);

/** A request that failed: an HTTP error answer (status, code and message from the body) or a network failure (status 0). */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly status: number;
  readonly code: string;
  /** From a Retry-After header, when the daemon sent one. */
  readonly retryAfterMs: number | undefined;
  /** "METHOD url" of the failed call, for logs. */
  readonly request: string | undefined;
  /** The body's `error.details`, when it had any: where the fault is (e.g. `{index, field}` of a bad record). */
  readonly details: unknown;

  constructor(
    status: number,
    code: string,
    message: string,
    opts?: { cause?: unknown; retryAfterMs?: number; request?: string; details?: unknown },
  ) {
    super(message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.status = status;
    this.code = code;
    this.retryAfterMs = opts?.retryAfterMs;
    this.request = opts?.request;
    this.details = opts?.details;
  }

  /** True for failures worth retrying: network errors, 429, 502, 503, 504. */
  get transient(): boolean {
    return TRANSIENT_STATUSES.has(this.status);
  }
}

/** True when `err` is an ApiError, with one of `statuses` if any are given. */
export function isApiError(err: unknown, ...statuses: number[]): err is ApiError {
  return err instanceof ApiError && (statuses.length === 0 || statuses.includes(err.status));
}

export interface HttpClientOptions {
  /** Base URLs of the daemon; the client fails over to the next one on network errors. */
  urls: string[];
  fetch?: typeof fetch;
  logger?: Logger;
  clock?: Clock;
  /** Source of jitter, in [0, 1). */
  random?: () => number;
  retry?: Partial<RetryPolicy>;
  /** Per-try timeout; a timeout counts as a network error. Default 15 s. */
  requestTimeoutMs?: number;
}

export interface RequestOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Serialized as JSON. */
  body?: unknown;
  /** Aborting rejects with the signal's reason at once, without retrying. */
  signal?: AbortSignal;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
}

/** What the agent's parts call the daemon through: the HTTP client, or a session link over it. */
export type ApiCaller = Pick<HttpClient, "request">;

/** JSON-over-HTTP calls to the daemon with bounded retries and URL failover. */
export class HttpClient {
  private readonly urls: string[];
  private readonly fetchImpl: typeof fetch;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly retry: RetryPolicy;
  private readonly requestTimeoutMs: number;
  private urlIndex = 0;

  constructor(opts: HttpClientOptions) {
    if (opts.urls.length === 0) throw new TypeError("HttpClient needs at least one URL");
    this.urls = opts.urls.map((u) => u.replace(/\/+$/, ""));
    // Looked up per call so a fetch swapped in later (instrumentation, mocks) is honoured.
    this.fetchImpl = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.logger = opts.logger ?? noopLogger;
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.retry = { ...defaultRetryPolicy, ...opts.retry };
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 15_000;
  }

  /** The base URL requests currently go to. */
  get baseUrl(): string {
    return this.urls[this.urlIndex]!;
  }

  /** Sends one request, retrying transient failures; resolves with the parsed JSON body (undefined when empty). */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const policy = { ...this.retry, ...opts.retry };
    // Every URL gets at least one try, however small the policy.
    const maxAttempts = Math.max(1, policy.maxAttempts, this.urls.length);
    // Serialized up front: an unserializable body is a caller bug, not something to retry.
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    let backoffRound = 0;
    let networkFailures = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once<T>(this.baseUrl, method, path, payload, opts);
      } catch (err) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        if (!(err instanceof ApiError) || !err.transient || attempt >= maxAttempts) throw err;
        let delay = 0;
        if (err.status === NETWORK_STATUS) {
          this.rotate();
          networkFailures++;
          // Try the other URLs right away; only back off once every URL failed in this round.
          if (networkFailures % this.urls.length === 0) delay = this.backoff(policy, backoffRound++);
        } else {
          delay = Math.max(
            this.backoff(policy, backoffRound++),
            Math.min(err.retryAfterMs ?? 0, policy.maxDelayMs),
          );
        }
        this.logger.debug(
          { method, path, attempt, status: err.status, code: err.code, delayMs: delay, next: this.baseUrl },
          "retrying request",
        );
        if (delay > 0 && !(await sleep(this.clock, delay, opts.signal))) throw opts.signal?.reason;
      }
    }
  }

  private rotate(): void {
    if (this.urls.length < 2) return;
    const from = this.baseUrl;
    this.urlIndex = (this.urlIndex + 1) % this.urls.length;
    this.logger.warn({ from, to: this.baseUrl }, "failing over to next daemon URL");
  }

  private backoff(policy: RetryPolicy, round: number): number {
    const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** round);
    // Equal jitter: keeps a floor so retries cannot bunch up at zero delay.
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  private async once<T>(
    base: string,
    method: string,
    path: string,
    payload: string | undefined,
    opts: RequestOptions,
  ): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
    const controller = new AbortController();
    let timedOut = false;
    const timer = this.clock.setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onCallerAbort = (): void => controller.abort(opts.signal?.reason);
    opts.signal?.addEventListener("abort", onCallerAbort, { once: true });
    const headers: Record<string, string> = { accept: "application/json" };
    if (opts.token !== undefined) headers["authorization"] = `Bearer ${opts.token}`;
    if (payload !== undefined) headers["content-type"] = "application/json";
    const request = `${method} ${base}${path}`;
    try {
      let res: Response;
      let text: string;
      try {
        if (opts.signal?.aborted) throw opts.signal.reason;
        res = await this.fetchImpl(base + path, {
          method,
          headers,
          body: payload,
          signal: controller.signal,
        });
        text = await res.text();
      } catch (err) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        if (timedOut) {
          throw new ApiError(NETWORK_STATUS, "TIMEOUT", `timed out after ${timeoutMs} ms`, { request });
        }
        throw new ApiError(NETWORK_STATUS, "NETWORK_ERROR", networkCause(err), { cause: err, request });
      }
      if (res.status >= 200 && res.status < 300) return parseSuccess<T>(res.status, text, request);
      throw toApiError(res.status, text, res.headers.get("retry-after"), request);
    } finally {
      this.clock.clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onCallerAbort);
    }
  }
}

function parseSuccess<T>(status: number, text: string, request: string): T {
  if (text.trim() === "") return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(status, "BAD_RESPONSE", "answer is not JSON", { request });
  }
}

function toApiError(status: number, text: string, retryAfter: string | null, request: string): ApiError {
  let code = `HTTP_${status}`;
  let message = text.trim().slice(0, 500) || `HTTP ${status}`;
  let details: unknown;
  try {
    const body = JSON.parse(text) as Partial<ErrorBody> | null;
    if (typeof body?.error?.code === "string") code = body.error.code;
    if (typeof body?.error?.message === "string") message = body.error.message;
    details = body?.error?.details ?? undefined;
  } catch {
    // Not the documented error shape (a proxy page, say): keep the raw text.
  }
  return new ApiError(status, code, message, {
    retryAfterMs: parseRetryAfter(retryAfter),
    request,
    details,
  });
}

function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function networkCause(err: unknown): string {
  // undici hides the useful part (ECONNREFUSED, ...) in `cause`.
  const cause =
    err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === "string") return cause.code;
  if (typeof cause?.message === "string") return cause.message;
  return errorMessage(err);
}
