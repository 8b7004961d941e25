import type { ConsoleSession } from "../../contract/schemas/console.ts";

/**
 * The console's one way to the daemon: the same API every client uses, with the operator's token.
 * URLs are relative to the page (…/ui/ → …/api/…), so the console works behind a path prefix.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** A refused action can still write an audit entry (a failed override confirmation does). */
    readonly requestId?: string,
  ) {
    super(`${message} (${status} ${code})`);
  }
}

const TOKEN_KEY = "overseer.console.token";
const ACTOR_KEY = "overseer.console.actor";

/** The token lives in this tab's session storage only: never a URL, never a cookie, gone with the tab. */
export const credentials = {
  token: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  actor: (): string => sessionStorage.getItem(ACTOR_KEY) ?? "",
  save(token: string, actor: string): void {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(ACTOR_KEY, actor);
  },
  clear(): void {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ACTOR_KEY);
  },
};

export function apiUrl(path: string, query?: Record<string, string | number | undefined | null>): string {
  const url = new URL(path.replace(/^\//, ""), new URL("../", location.href));
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, String(v));
  }
  return url.toString();
}

/** What an action answered, with the request id its audit entry carries. */
export interface Acted<T> {
  data: T;
  requestId: string;
  status: number;
}

async function call<T>(method: string, url: string, body?: unknown): Promise<Acted<T>> {
  const headers: Record<string, string> = { accept: "application/json" };
  const token = credentials.token();
  if (token) headers.authorization = `Bearer ${token}`;
  const actor = credentials.actor();
  if (actor) headers["x-overseer-actor"] = actor;
  // The daemon records it in the audit entry an action writes, so the console can show that entry.
  const id = crypto.randomUUID();
  headers["x-request-id"] = id;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const parsed = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const err = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    if (res.status === 401) window.dispatchEvent(new CustomEvent("overseer:unauthenticated"));
    throw new ApiError(res.status, err?.code ?? "OVS_ERR_UNKNOWN", err?.message ?? res.statusText, id);
  }
  return { data: parsed as T, requestId: id, status: res.status };
}

export const api = {
  async get<T>(path: string, query?: Record<string, string | number | undefined | null>): Promise<T> {
    return (await call<T>("GET", apiUrl(path, query))).data;
  },
  post<T>(path: string, body?: unknown): Promise<Acted<T>> {
    return call<T>("POST", apiUrl(path), body ?? {});
  },
  send<T>(method: "POST" | "PATCH" | "DELETE" | "PUT", path: string, body?: unknown): Promise<Acted<T>> {
    return call<T>(method, apiUrl(path), body);
  },
};

export type Role = ConsoleSession["role"];
const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

/** Whether the signed-in role may do what needs `need` (the server checks again). */
export function may(session: ConsoleSession, need: Role): boolean {
  return RANK[session.role] >= RANK[need];
}
