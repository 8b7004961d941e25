import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { CliError, EXIT, exitForStatus } from "./exit-codes.ts";

/** A JSON object answer; commands read the fields they know and check their types. */
export type ApiBody = Record<string, unknown>;

/** The array under `key` of an answer (empty when absent: the daemon may answer an older shape). */
export function listOf(body: ApiBody | null | undefined, key: string): Array<Record<string, unknown>> {
  const v = body?.[key];
  return Array.isArray(v) ? (v as Array<Record<string, unknown>>) : [];
}

/** Where and as whom the CLI talks to the daemon. */
export interface CliTarget {
  url: string;
  token: string | undefined;
  /** Per-request timeout. */
  timeoutMs: number;
}

/** The answer of one HTTP exchange, as `request` reads it. */
export interface RawAnswer {
  status: number;
  statusText: string;
  text: string;
}

/** Sends one request; rejects with the socket's error (its `code`: ECONNREFUSED, ENOTFOUND, ...). */
export type Transport = (
  url: URL,
  init: { method: string; headers: Record<string, string>; body?: string; timeoutMs: number },
) => Promise<RawAnswer>;

/**
 * node:http rather than fetch: fetch refuses the "bad ports" of browsers (1, 9, 6000, ...) without
 * trying to connect, so `--url http://127.0.0.1:1` said "bad port" instead of what happened.
 */
export const nodeTransport: Transport = (url, init) =>
  new Promise((resolve, reject) => {
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(url, { method: init.method, headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? "",
          text: Buffer.concat(chunks).toString("utf8"),
        }),
      );
    });
    req.setTimeout(init.timeoutMs, () =>
      req.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })),
    );
    req.on("error", reject);
    req.end(init.body);
  });

/** Plain words for the socket errors an operator meets when the daemon is not there. */
const WHY: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ETIMEDOUT: "no answer in time",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
};

/** The CliError of a daemon that could not be reached: what happened, and the likely cause. */
export function unreachable(url: string, error: unknown): CliError {
  const code = (error as { code?: unknown })?.code;
  const why =
    (typeof code === "string" ? WHY[code] : undefined) ??
    (typeof code === "string" ? code : ((error as Error)?.message ?? String(error)));
  const message = `cannot connect to ${url} (${why}): is the daemon running, and is --url (or OVERSEER_URL) right?`;
  return new CliError(EXIT.unreachable, message, { error: { code: "OVS_CLI_UNREACHABLE", message } });
}

/**
 * Calls the daemon's API and returns the parsed body; an error answer or an unreachable daemon
 * becomes a CliError with the matching exit code (the daemon's error body kept for --json).
 */
export async function request<T = ApiBody>(
  target: CliTarget,
  method: string,
  path: string,
  body?: unknown,
  transport: Transport = nodeTransport,
): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let url: URL | null = null;
  try {
    url = new URL(`${target.url.replace(/\/+$/, "")}${path}`);
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new CliError(EXIT.usage, `--url ${target.url} is not an http(s) URL (e.g. http://127.0.0.1:8080)`);
  }
  let response: RawAnswer;
  try {
    response = await transport(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      timeoutMs: target.timeoutMs,
    });
  } catch (error) {
    throw unreachable(target.url, error);
  }
  const { text } = response;
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (response.status < 200 || response.status > 299) {
    const err = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const code = typeof err?.code === "string" ? err.code : `HTTP_${response.status}`;
    const message =
      typeof err?.message === "string" ? err.message : text.slice(0, 200) || response.statusText;
    throw new CliError(exitForStatus(response.status), `${response.status} ${code}: ${message}`, {
      error: { code, message },
    });
  }
  if (parsed === null && text) {
    throw new CliError(EXIT.error, `${method} ${path}: the answer is not JSON`);
  }
  return parsed as T;
}
