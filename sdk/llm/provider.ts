// What the client needs from a provider, and the HTTP plumbing the network providers share.
//
// Providers do one attempt and throw: LlmError for answers they understood (HTTP errors, malformed
// bodies), anything else for failures below HTTP. The client owns timeouts, retries and fallback,
// and classifies the rest (its own timeout, caller abort, connection errors).

import type { LlmProviderName, LlmRequest, LlmUsage } from "./llm-types.ts";
import { LlmError } from "./llm-types.ts";
import { countMessageTokens, countTokens } from "./token-counter.ts";

/** One attempt, as handed to a provider. */
export interface ProviderCall {
  request: LlmRequest;
  /** Resolved model name: the request's, else the client's. */
  model: string;
  /** Aborted on the client's per-attempt timeout and on the caller's signal; covers the whole body. */
  signal: AbortSignal;
  fetch: typeof fetch;
  /** The client's clock. */
  now: () => number;
  /** `now()` at the start of the call; time to first token is measured from it. */
  startedAt: number;
}

export interface ProviderAnswer {
  text: string;
  model: string;
  usage: LlmUsage;
  timeToFirstTokenMs: number | null;
}

export interface LlmProvider {
  readonly name: LlmProviderName;
  complete(call: ProviderCall): Promise<ProviderAnswer>;
}

/** POSTs `body` as JSON; resolves with a 2xx response, throws LlmError for any other status. */
export async function postJson(
  call: ProviderCall,
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  const res = await call.fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: call.signal,
  });
  if (res.status >= 200 && res.status < 300) return res;
  throw errorFromResponse(res.status, await res.text(), res.headers);
}

/** Maps an HTTP error answer to an LlmError: 429 rate_limited, 5xx server_error, other statuses bad_request. */
export function errorFromResponse(status: number, text: string, headers: Headers): LlmError {
  const type = status === 429 ? "rate_limited" : status >= 500 ? "server_error" : "bad_request";
  const detail = errorDetail(text);
  return new LlmError(type, `HTTP ${status}${detail === "" ? "" : `: ${detail}`}`, {
    status,
    retryAfterMs: retryAfterMs(headers),
  });
}

/** The message of an OpenAI-style `{error: {message}}` or Ollama-style `{error: "..."}` body, else the raw text. */
function errorDetail(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown };
    if (typeof body.error === "string") return body.error;
    const message = (body.error as { message?: unknown } | undefined)?.message;
    if (typeof message === "string") return message;
  } catch {
    // Not JSON (a proxy's error page, say): keep the raw text.
  }
  return text.trim().slice(0, 500);
}

/** `retry-after-ms` (sent by OpenAI), else `Retry-After` in seconds or as an HTTP date. */
function retryAfterMs(headers: Headers): number | undefined {
  const ms = Number(headers.get("retry-after-ms") ?? Number.NaN);
  if (Number.isFinite(ms)) return Math.max(0, ms);
  const value = headers.get("retry-after");
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Parses a whole JSON body; bad_response when it is not JSON. */
export async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  return parseJson(text, "answer");
}

export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new LlmError("bad_response", `${what} is not JSON: ${text.slice(0, 200)}`);
  }
}

/** Yields the body's lines without their line endings (LF or CRLF), the last one even without a newline. */
export async function* readLines(res: Response): AsyncGenerator<string> {
  if (res.body === null) return;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffered += value;
      let newline = buffered.indexOf("\n");
      while (newline >= 0) {
        yield buffered.slice(0, newline).replace(/\r$/, "");
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf("\n");
      }
    }
    if (buffered !== "") yield buffered.replace(/\r$/, "");
  } finally {
    // Stopping early (a [DONE] marker, an error) must not leave the connection half-read.
    await reader.cancel().catch(() => {});
  }
}

/** A non-negative finite number, else undefined. */
export function count(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Usage from the provider's counts, estimating whichever is missing (then `counted: true`). */
export function usageOf(
  call: ProviderCall,
  text: string,
  inputTokens: number | undefined,
  outputTokens: number | undefined,
): LlmUsage {
  return {
    inputTokens: inputTokens ?? countMessageTokens(call.request.messages),
    outputTokens: outputTokens ?? countTokens(text),
    counted: inputTokens === undefined || outputTokens === undefined,
  };
}

/** Drops trailing slashes so `${base}/path` never doubles them. */
export function trimBase(url: string): string {
  return url.replace(/\/+$/, "");
}
