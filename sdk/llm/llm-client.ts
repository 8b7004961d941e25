// LLM calls with the SDK's failure handling: per-attempt timeout covering the whole (streamed)
// answer, bounded jittered retries of transient failures, and an optional offline fallback.
//
//   const llm = llmClientFromEnv(process.env, { logger });
//   const res = await llm.complete({ messages: [{ role: "user", content: "Summarize: ..." }], stream: true });
//   res.text; res.source; res.usage; res.latencyMs; res.timeToFirstTokenMs;
//
// Every call is one OpenTelemetry span (llm-span.ts), a no-op unless the host registered an SDK.

import { context, type Tracer, trace } from "@opentelemetry/api";
import { TRACER_NAME } from "../../contract/telemetry/genai-attributes.ts";
import { type Clock, errorMessage, type Logger, noopLogger, sleep, systemClock } from "../runtime.ts";
import { SDK_VERSION } from "../version.ts";
import { LlmSpan } from "./llm-span.ts";
import {
  LLM_PROVIDERS,
  type LlmCallContext,
  LlmError,
  type LlmErrorType,
  type LlmProviderName,
  type LlmRequest,
  type LlmResult,
} from "./llm-types.ts";
import { OfflineProvider } from "./offline-provider.ts";
import { OllamaProvider } from "./ollama-provider.ts";
import { OpenAiProvider } from "./openai-provider.ts";
import type { LlmProvider, ProviderAnswer } from "./provider.ts";

export interface LlmClientOptions {
  provider: LlmProviderName;
  /** Server root. Defaults: openai https://api.openai.com, ollama http://127.0.0.1:11434; unused offline. */
  baseUrl?: string;
  /** Sent as `Authorization: Bearer <apiKey>` to OpenAI-compatible servers. */
  apiKey?: string;
  /** Default model; a request's `model` overrides it. */
  model: string;
  /** Per attempt, from sending the request to the last byte of the answer. Default 60 s. */
  timeoutMs?: number;
  /** Extra attempts after the first for timeouts, 429, 5xx and connection errors. Default 2. */
  retries?: number;
  /** First backoff delay; doubles per retry, with jitter. Default 500 ms. */
  backoffBaseMs?: number;
  /** Cap on a backoff delay, Retry-After included. Default 8 s. */
  backoffMaxMs?: number;
  /** Answer from the offline provider when the real one stays unreachable, times out or fails with 5xx. Default false. */
  fallbackToOffline?: boolean;
  fetch?: typeof fetch;
  clock?: Clock;
  logger?: Logger;
  /** Source of jitter, in [0, 1). */
  random?: () => number;
  /** Tracer for call spans; default `trace.getTracer("overseer-sdk", version)` (the global provider). */
  tracer?: Tracer;
}

export const DEFAULT_LLM_TIMEOUT_MS = 60_000;
export const DEFAULT_LLM_RETRIES = 2;
const DEFAULT_BACKOFF_BASE_MS = 500;
const DEFAULT_BACKOFF_MAX_MS = 8_000;
const DEFAULT_BASE_URLS: Record<LlmProviderName, string> = {
  openai: "https://api.openai.com",
  ollama: "http://127.0.0.1:11434",
  offline: "",
};

/** Failures that mean "the provider is down" rather than "the request or the quota is wrong". */
const FALLBACK_TYPES: ReadonlySet<LlmErrorType> = new Set(["unreachable", "timeout", "server_error"]);

/** Chat completions against OpenAI-compatible servers, Ollama, or the deterministic offline provider. */
export class LlmClient {
  readonly provider: LlmProviderName;
  readonly model: string;
  readonly baseUrl: string | undefined;
  private readonly impl: LlmProvider;
  private readonly offline = new OfflineProvider();
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly fallbackToOffline: boolean;
  private readonly fetchImpl: typeof fetch;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly tracer: Tracer;
  /** `server.address` and `server.port` of the spans; undefined offline. */
  private readonly server: { address: string; port: number } | undefined;

  constructor(opts: LlmClientOptions) {
    if (!LLM_PROVIDERS.includes(opts.provider)) {
      throw new TypeError(`LlmClient: provider must be one of ${LLM_PROVIDERS.join(", ")}`);
    }
    if (typeof opts.model !== "string" || opts.model.trim() === "") {
      throw new TypeError("LlmClient: model must be a non-empty string");
    }
    this.provider = opts.provider;
    this.model = opts.model;
    this.timeoutMs = positive(opts.timeoutMs ?? DEFAULT_LLM_TIMEOUT_MS, "timeoutMs");
    this.retries = opts.retries ?? DEFAULT_LLM_RETRIES;
    if (!Number.isInteger(this.retries) || this.retries < 0) {
      throw new TypeError("LlmClient: retries must be a non-negative integer");
    }
    this.backoffBaseMs = nonNegative(opts.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS, "backoffBaseMs");
    this.backoffMaxMs = nonNegative(opts.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS, "backoffMaxMs");
    this.fallbackToOffline = opts.fallbackToOffline ?? false;
    // Looked up per call so a fetch swapped in later (instrumentation, mocks) is honoured.
    this.fetchImpl = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? noopLogger;
    this.random = opts.random ?? Math.random;
    // A proxy tracer: it follows a provider registered later, so building a client early is fine.
    this.tracer = opts.tracer ?? trace.getTracer(TRACER_NAME, SDK_VERSION);
    const baseUrl =
      opts.baseUrl === undefined || opts.baseUrl === "" ? DEFAULT_BASE_URLS[opts.provider] : opts.baseUrl;
    this.baseUrl = opts.provider === "offline" ? undefined : baseUrl;
    this.server = this.baseUrl === undefined ? undefined : serverOf(this.baseUrl);
    this.impl =
      opts.provider === "openai"
        ? new OpenAiProvider(baseUrl, opts.apiKey)
        : opts.provider === "ollama"
          ? new OllamaProvider(baseUrl)
          : this.offline;
  }

  /**
   * One chat completion. Rejects with LlmError (its `attempts` set), or the signal's reason when aborted.
   * `call` says who the call is for; it only goes on the trace span.
   */
  async complete(request: LlmRequest, call: LlmCallContext = {}): Promise<LlmResult> {
    if (!Array.isArray(request.messages) || request.messages.length === 0) {
      throw new TypeError("LlmClient.complete: messages must be a non-empty array");
    }
    const model = request.model ?? this.model;
    const span = new LlmSpan(this.tracer, {
      provider: this.provider,
      model,
      request,
      server: this.server,
      call,
    });
    try {
      const result = await context.with(span.context, () => this.run(request, model, span));
      span.succeed(result);
      return result;
    } catch (err) {
      span.fail(err, request.signal?.aborted === true);
      throw err;
    }
  }

  /** Attempts, retries and fallback of one call. */
  private async run(request: LlmRequest, model: string, span: LlmSpan): Promise<LlmResult> {
    const startedAt = this.clock.now();
    for (let attempts = 1; ; attempts++) {
      try {
        const answer = await this.attempt(this.impl, request, model, startedAt);
        return this.result(answer, this.provider, request, startedAt, attempts, false);
      } catch (thrown) {
        if (request.signal?.aborted) throw request.signal.reason;
        const err = thrown as LlmError;
        if (err.retryable && attempts <= this.retries) {
          const delayMs = Math.max(
            this.backoff(attempts - 1),
            Math.min(err.retryAfterMs ?? 0, this.backoffMaxMs),
          );
          this.logger.debug(
            {
              provider: this.provider,
              model,
              attempt: attempts,
              type: err.type,
              status: err.status,
              delayMs,
            },
            "retrying LLM call",
          );
          span.retry(attempts, err, delayMs);
          if (!(await sleep(this.clock, delayMs, request.signal))) throw request.signal?.reason;
          continue;
        }
        err.attempts = attempts;
        if (!this.fallbackToOffline || this.provider === "offline" || !FALLBACK_TYPES.has(err.type))
          throw err;
        this.logger.warn(
          { provider: this.provider, model, attempts, type: err.type, status: err.status, err: err.message },
          "LLM provider failed; answering offline",
        );
        span.fallback(err, attempts);
        const answer = await this.attempt(this.offline, request, model, startedAt);
        return this.result(answer, "offline", request, startedAt, attempts, true);
      }
    }
  }

  private result(
    answer: ProviderAnswer,
    source: LlmProviderName,
    request: LlmRequest,
    startedAt: number,
    attempts: number,
    fellBack: boolean,
  ): LlmResult {
    return {
      text: answer.text,
      source,
      model: answer.model,
      usage: answer.usage,
      latencyMs: this.clock.now() - startedAt,
      timeToFirstTokenMs: request.stream === true ? answer.timeToFirstTokenMs : null,
      attempts,
      fellBack,
    };
  }

  /** One request under its own timeout; every failure comes out as an LlmError (or the caller's abort reason). */
  private async attempt(
    provider: LlmProvider,
    request: LlmRequest,
    model: string,
    startedAt: number,
  ): Promise<ProviderAnswer> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = this.clock.setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    const onCallerAbort = (): void => controller.abort(request.signal?.reason);
    request.signal?.addEventListener("abort", onCallerAbort, { once: true });
    try {
      if (request.signal?.aborted) throw request.signal.reason;
      return await provider.complete({
        request,
        model,
        signal: controller.signal,
        fetch: this.fetchImpl,
        now: () => this.clock.now(),
        startedAt,
      });
    } catch (err) {
      if (request.signal?.aborted) throw request.signal.reason;
      if (timedOut) {
        throw new LlmError("timeout", `${provider.name}: no complete answer within ${this.timeoutMs} ms`, {
          cause: err,
        });
      }
      if (err instanceof LlmError) throw err;
      throw new LlmError("unreachable", `${provider.name} at ${this.baseUrl}: ${networkCause(err)}`, {
        cause: err,
      });
    } finally {
      this.clock.clearTimeout(timer);
      request.signal?.removeEventListener("abort", onCallerAbort);
    }
  }

  private backoff(round: number): number {
    const ceiling = Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** round);
    // Equal jitter: keeps a floor so retries cannot bunch up at zero delay.
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }
}

/** Host and port requests go to; the scheme's port when the URL names none. */
function serverOf(baseUrl: string): { address: string; port: number } | undefined {
  try {
    const url = new URL(baseUrl);
    const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port);
    // URL keeps IPv6 literals bracketed; server.address wants the bare address.
    return { address: url.hostname.replace(/^\[(.*)\]$/, "$1"), port };
  } catch {
    return undefined;
  }
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new TypeError(`LlmClient: ${name} must be a positive number`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0)
    throw new TypeError(`LlmClient: ${name} must be a non-negative number`);
  return value;
}

function networkCause(err: unknown): string {
  // undici hides the useful part (ECONNREFUSED, "other side closed", ...) in `cause`.
  const cause =
    err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === "string") return cause.code;
  if (typeof cause?.message === "string") return cause.message;
  return errorMessage(err);
}

/** Environment variables read by `llmOptionsFromEnv`. */
export type LlmEnv = Record<string, string | undefined>;

/**
 * Client options from OVERSEER_LLM_* variables; throws one Error listing every bad value.
 *
 * OVERSEER_LLM_PROVIDER   openai | ollama | offline (default offline)
 * OVERSEER_LLM_BASE_URL   http(s) URL of the server root (default per provider)
 * OVERSEER_LLM_API_KEY    bearer token for OpenAI-compatible servers
 * OVERSEER_LLM_MODEL      required for openai and ollama; default "offline" for offline
 * OVERSEER_LLM_TIMEOUT_MS positive integer, per attempt (default 60000)
 * OVERSEER_LLM_FALLBACK   true | false: answer offline when the provider is down (default false)
 */
export function llmOptionsFromEnv(env: LlmEnv = process.env): LlmClientOptions {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === "" ? undefined : value;
  };

  let provider: LlmProviderName = "offline";
  const providerRaw = read("OVERSEER_LLM_PROVIDER");
  if (providerRaw !== undefined) {
    const lowered = providerRaw.toLowerCase();
    if ((LLM_PROVIDERS as readonly string[]).includes(lowered)) provider = lowered as LlmProviderName;
    else
      problems.push(
        `OVERSEER_LLM_PROVIDER must be one of ${LLM_PROVIDERS.join(", ")} (got "${providerRaw}")`,
      );
  }

  const baseUrl = read("OVERSEER_LLM_BASE_URL");
  if (baseUrl !== undefined && !isHttpUrl(baseUrl)) {
    problems.push(`OVERSEER_LLM_BASE_URL must be an http(s) URL (got "${baseUrl}")`);
  }

  let model = read("OVERSEER_LLM_MODEL");
  if (model === undefined) {
    if (provider === "offline") model = "offline";
    else problems.push(`OVERSEER_LLM_MODEL is required when OVERSEER_LLM_PROVIDER=${provider}`);
  }

  let timeoutMs = DEFAULT_LLM_TIMEOUT_MS;
  const timeoutRaw = read("OVERSEER_LLM_TIMEOUT_MS");
  if (timeoutRaw !== undefined) {
    const parsed = Number(timeoutRaw);
    if (/^\d+$/.test(timeoutRaw) && Number.isSafeInteger(parsed) && parsed > 0) timeoutMs = parsed;
    else
      problems.push(
        `OVERSEER_LLM_TIMEOUT_MS must be a positive integer of milliseconds (got "${timeoutRaw}")`,
      );
  }

  let fallbackToOffline = false;
  const fallbackRaw = read("OVERSEER_LLM_FALLBACK");
  if (fallbackRaw !== undefined) {
    const lowered = fallbackRaw.toLowerCase();
    if (lowered === "true" || lowered === "false") fallbackToOffline = lowered === "true";
    else problems.push(`OVERSEER_LLM_FALLBACK must be "true" or "false" (got "${fallbackRaw}")`);
  }

  if (problems.length > 0) throw new Error(`invalid LLM configuration: ${problems.join("; ")}`);
  const opts: LlmClientOptions = { provider, model: model!, timeoutMs, fallbackToOffline };
  if (baseUrl !== undefined) opts.baseUrl = baseUrl;
  const apiKey = read("OVERSEER_LLM_API_KEY");
  if (apiKey !== undefined) opts.apiKey = apiKey;
  return opts;
}

/** An LlmClient configured from OVERSEER_LLM_* variables; `overrides` add code-only options (fetch, clock, logger, ...). */
export function llmClientFromEnv(
  env: LlmEnv = process.env,
  overrides: Partial<LlmClientOptions> = {},
): LlmClient {
  return new LlmClient({ ...llmOptionsFromEnv(env), ...overrides });
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}
