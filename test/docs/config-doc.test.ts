import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compileConfig, type OverseerConfig } from "../../daemon/config/compile-config.ts";
import { parseDurationMs } from "../../daemon/config/duration.ts";

/**
 * docs/configuration.md documents exactly the environment variables compile-config.ts reads, and
 * the defaults it states are the ones compileConfig() produces.
 */
const SOURCE = readFileSync(new URL("../../daemon/config/compile-config.ts", import.meta.url), "utf8");
const DOC = readFileSync(new URL("../../docs/configuration.md", import.meta.url), "utf8");

/** Every variable the compiler reads: through its int/duration/bool/url/secret helpers or `env.X`. */
function variablesRead(source: string): Set<string> {
  const names = new Set<string>();
  for (const m of source.matchAll(/\b(?:int|duration|bool|url|secret)\(\s*"([A-Z][A-Z0-9_]*)"/g)) {
    names.add(m[1] as string);
  }
  for (const m of source.matchAll(/\benv\.([A-Z][A-Z0-9_]*)\b/g)) names.add(m[1] as string);
  return names;
}

interface DocRow {
  name: string;
  defaultCell: string;
}

/** Rows of the variables table: `| \`NAME\` | default | accepted | meaning |`. */
function tableRows(markdown: string): DocRow[] {
  const rows: DocRow[] = [];
  for (const line of markdown.split("\n")) {
    if (!line.trim().startsWith("|")) continue;
    const cells = line
      .trim()
      .replace(/^\||\|$/g, "")
      .split("|")
      .map((c) => c.trim());
    const name = /^`([A-Z][A-Z0-9_]*)`$/.exec(cells[0] ?? "")?.[1];
    if (name) rows.push({ name, defaultCell: cells[1] ?? "" });
  }
  return rows;
}

/** Maps env names to config fields through the interface's `(env NAME)` doc comments. */
function fieldsByVariable(source: string): Map<string, keyof OverseerConfig> {
  const map = new Map<string, keyof OverseerConfig>();
  for (const m of source.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*?)\*\/\s*\n\s*(\w+)\??:/g)) {
    const env = /\(env ([A-Z][A-Z0-9_]*)\)/.exec(m[1] as string)?.[1];
    if (env) map.set(env, m[2] as keyof OverseerConfig);
  }
  return map;
}

const read = variablesRead(SOURCE);
const rows = tableRows(DOC);
const documented = new Set(rows.map((r) => r.name));

describe("docs/configuration.md", () => {
  it("finds the variables compile-config.ts reads", () => {
    // A guard against a broken extractor silently passing everything.
    for (const name of ["PORT", "REDIS_URL", "OVERSEER_NAMESPACE", "OVERSEER_AGENT_SECRET", "LOG_LEVEL"]) {
      expect(read.has(name), name).toBe(true);
    }
  });

  it("documents every variable compile-config.ts reads", () => {
    expect([...read].filter((name) => !documented.has(name)).sort()).toEqual([]);
  });

  it("documents no variable compile-config.ts does not read, and each variable once", () => {
    expect([...documented].filter((name) => !read.has(name)).sort()).toEqual([]);
    const names = rows.map((r) => r.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it("mentions no OVERSEER_ variable anywhere that the daemon does not read", () => {
    const mentioned = new Set([...DOC.matchAll(/\bOVERSEER_[A-Z0-9_]+\b/g)].map((m) => m[0]));
    expect([...mentioned].filter((name) => !read.has(name)).sort()).toEqual([]);
  });

  it("states the defaults compileConfig() produces", () => {
    const defaults = compileConfig({});
    const fields = fieldsByVariable(SOURCE);
    const mismatches: string[] = [];
    let checked = 0;
    for (const row of rows) {
      const field = fields.get(row.name);
      // Rows without a literal default (generated secrets) have nothing to compare.
      const literal = /^`([^`]+)`/.exec(row.defaultCell)?.[1];
      if (!field || literal === undefined) continue;
      const actual = defaults[field];
      const stated =
        typeof actual === "number"
          ? parseDurationMs(literal)
          : typeof actual === "boolean"
            ? literal === "true"
            : literal;
      if (stated !== actual) mismatches.push(`${row.name}: docs ${literal}, code ${String(actual)}`);
      checked++;
    }
    expect(mismatches).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(20);
  });
});
