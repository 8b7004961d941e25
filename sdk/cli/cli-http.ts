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

/**
 * Calls the daemon's API and returns the parsed body; an error answer or an unreachable daemon
 * becomes a CliError with the matching exit code (the daemon's error body kept for --json).
 */
export async function request<T = ApiBody>(
  target: CliTarget,
  method: string,
  path: string,
  body?: unknown,
  fetchImpl: typeof fetch = fetch,
): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetchImpl(`${target.url.replace(/\/+$/, "")}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(target.timeoutMs),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
    const why = cause?.code ?? cause?.message ?? (error as Error)?.message ?? String(error);
    throw new CliError(EXIT.unreachable, `cannot reach ${target.url}: ${why}`, {
      error: { code: "OVS_CLI_UNREACHABLE", message: `cannot reach ${target.url}: ${why}` },
    });
  }
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!response.ok) {
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
