import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../contract/errors.ts";

/** docs/errors.md documents every code of the registry with its status, and nothing else. */
const DOC_PATH = new URL("../../docs/errors.md", import.meta.url);

interface DocRow {
  code: string;
  status: number;
  meaning: string;
  action: string;
}

/** Parses the rows of the codes table: `| \`CODE\` | status | meaning | action |`. */
function parseTable(markdown: string): DocRow[] {
  const rows: DocRow[] = [];
  for (const line of markdown.split("\n")) {
    const cells = line
      .trim()
      .replace(/^\|/, "")
      .replace(/\|$/, "")
      .split("|")
      .map((c) => c.trim());
    const code = /^`([A-Z0-9_]+)`$/.exec(cells[0] ?? "")?.[1];
    if (!line.trim().startsWith("|") || !code) continue;
    rows.push({
      code,
      status: Number(cells[1]),
      meaning: cells[2] ?? "",
      action: cells[3] ?? "",
    });
  }
  return rows;
}

const markdown = readFileSync(DOC_PATH, "utf8");
const rows = parseTable(markdown);
const registry = ERROR_CODES as Record<string, { status: number; message: string; retired?: boolean }>;

describe("docs/errors.md", () => {
  it("has a codes table", () => {
    expect(markdown).toMatch(
      /\|\s*Code\s*\|\s*HTTP status\s*\|\s*Meaning\s*\|\s*What the caller should do\s*\|/,
    );
    expect(rows.length).toBeGreaterThan(0);
  });

  it("documents every registry code with the registry's status", () => {
    const documented = new Map(rows.map((r) => [r.code, r.status]));
    const mismatches = Object.entries(registry)
      .filter(([code, entry]) => documented.get(code) !== entry.status)
      .map(([code, entry]) => `${code}: registry ${entry.status}, docs ${documented.get(code) ?? "missing"}`);
    expect(mismatches).toEqual([]);
  });

  it("documents no code that is not in the registry, and each code once", () => {
    expect(rows.map((r) => r.code).filter((code) => !(code in registry))).toEqual([]);
    const codes = rows.map((r) => r.code);
    expect(codes.filter((c, i) => codes.indexOf(c) !== i)).toEqual([]);
  });

  it("says what each code means and what the caller should do", () => {
    for (const row of rows) {
      expect(row.meaning.length, row.code).toBeGreaterThan(10);
      expect(row.action.length, row.code).toBeGreaterThan(10);
      expect(Number.isInteger(row.status), row.code).toBe(true);
    }
  });

  it("describes the body shape and the never-reuse rule", () => {
    expect(markdown).toContain('"error"');
    for (const field of ["`code`", "`message`", "`details`"]) expect(markdown).toContain(field);
    expect(markdown).toMatch(/retired/i);
    expect(markdown).toMatch(/never reused/i);
  });
});
