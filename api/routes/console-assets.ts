import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** One file of the built console, held in memory: the console is small and never changes while the daemon runs. */
export interface ConsoleAsset {
  body: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".ico": "image/x-icon",
};

/**
 * Where `npm run build` writes the console: `console/` beside the compiled `api/` (dist/console). Run
 * from the sources, that path holds the console's sources and no index.html, so the console is
 * "not built" unless OVERSEER_CONSOLE_DIR names a build (the demo and the tests make one).
 */
export function defaultConsoleDir(): string {
  return fileURLToPath(new URL("../../console/", import.meta.url));
}

/**
 * Reads the built console once (console-routes.ts calls it at the first /ui request, so start-up
 * pays nothing): a path is served only if it was a file of the build then (no path from a request
 * ever reaches the file system). Empty when there is no index.html.
 */
export function loadConsoleAssets(dir: string): Map<string, ConsoleAsset> {
  const assets = new Map<string, ConsoleAsset>();
  if (!existsSync(join(dir, "index.html"))) return assets;
  const walk = (sub: string) => {
    for (const name of readdirSync(join(dir, sub))) {
      const rel = sub ? `${sub}/${name}` : name;
      const full = join(dir, rel);
      if (statSync(full).isDirectory()) walk(rel);
      else {
        const type = TYPES[extname(name)];
        if (!type) continue;
        const body = readFileSync(full);
        const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
        assets.set(rel, { body, type, etag });
      }
    }
  };
  walk("");
  return assets;
}
