import type { ConsoleSession } from "../../contract/schemas/console.ts";

/**
 * Hash routes (`#/runs/<id>?tab=…`): the daemon serves one page at /ui/, so any console URL can be
 * bookmarked, shared or linked from Grafana without the server knowing the console's routes.
 */

export interface PageContext {
  params: Record<string, string>;
  query: URLSearchParams;
  session: ConsoleSession;
  /** Where the page draws. */
  root: HTMLElement;
  /** Runs when the operator leaves the page (close sockets, stop timers). */
  onLeave(fn: () => void): void;
  /** Draws the page again, as after an action. */
  reload(): void;
  /** Changes the query of the current route (filters), which redraws the page. */
  setQuery(query: Record<string, string | undefined>): void;
}

export interface Page {
  /** `/runs/:id` */
  pattern: string;
  title: string;
  /** Shown in the navigation under this label. */
  nav?: string;
  /** The navigation entry a detail page belongs under (`/fleet` for an agent). */
  under?: string;
  render(ctx: PageContext): Promise<void> | void;
}

export interface Match {
  page: Page;
  params: Record<string, string>;
  query: URLSearchParams;
}

export function parseHash(hash: string): { path: string; query: URLSearchParams } {
  const raw = hash.replace(/^#/, "") || "/fleet";
  const [path = "/fleet", search = ""] = raw.split("?", 2);
  return { path, query: new URLSearchParams(search) };
}

export function match(pages: readonly Page[], hash: string): Match | null {
  const { path, query } = parseHash(hash);
  const parts = path.split("/").filter(Boolean);
  for (const page of pages) {
    const want = page.pattern.split("/").filter(Boolean);
    if (want.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    want.forEach((w, i) => {
      const got = parts[i] ?? "";
      if (w.startsWith(":")) params[w.slice(1)] = decodeURIComponent(got);
      else if (w !== got) ok = false;
    });
    if (ok) return { page, params, query };
  }
  return null;
}

export function hrefOf(path: string, query?: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v) q.set(k, v);
  const s = q.toString();
  return `#${path}${s ? `?${s}` : ""}`;
}
