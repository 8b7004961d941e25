import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import ts from "typescript";
import { violation } from "./dependency-rule.ts";

/**
 * `npm run deps`: checks every import (static, re-export and dynamic) of every TypeScript file in
 * git against tools/dependency-rule.ts, and exits 1 listing each one that breaks it.
 */
export function importsOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/** SQL statements: what only a store may hold. */
const SQL =
  /\b(SELECT\s+[\w*(][\s\S]{0,400}?\bFROM\b|INSERT\s+INTO|UPDATE\s+[a-z_]+(\s+[a-z]+)?\s+SET|DELETE\s+FROM|ON\s+CONFLICT)\b|\.query(<[^>]*>)?\(\s*[`"']/;
/** Where SQL, Lua and Redis key literals may live (tests, benchmarks and tools build their own fixtures). */
const STORES = "daemon/store/";
const EXEMPT = ["test/", "bench/", "tools/"];

/**
 * The storage rule (docs/architecture.md): SQL only in stores, Lua only in .lua files (loaded by
 * the one loader), Redis keys only from the key registry.
 */
export function storageProblems(path: string, text: string): string[] {
  if (EXEMPT.some((p) => path.startsWith(p))) return [];
  const code = text.replace(/\/\*[\s\S]*?\*\/|(^|[^:])\/\/.*$/gm, "$1");
  const problems: string[] = [];
  if (!path.startsWith(STORES) && SQL.test(code)) {
    problems.push(`${path} holds SQL: SQL lives in stores (daemon/store/), one writer per table`);
  }
  if (/redis\.call\('/.test(code)) {
    problems.push(`${path} holds Lua: scripts live in .lua files under daemon/store/redis/lua/`);
  }
  if (/ovs:\{/.test(code) && !path.endsWith("redis-keys.ts")) {
    problems.push(`${path} builds a Redis key: every key comes from the key registry (redis-keys.ts)`);
  }
  return problems;
}

export function checkFiles(files: Array<{ path: string; text: string }>): string[] {
  const problems: string[] = [];
  for (const { path, text } of files) {
    problems.push(...storageProblems(path, text));
    for (const spec of importsOf(text)) {
      if (spec.startsWith("node:")) continue;
      const isPackage = !spec.startsWith(".");
      const target = isPackage ? spec : normalize(join(dirname(path), spec));
      const why = violation(path, target, isPackage);
      if (why) problems.push(`${path} imports ${isPackage ? spec : target}: ${why}`);
    }
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const paths = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "*.ts"], {
    encoding: "utf8",
  })
    .split("\n")
    .filter((p) => p !== "");
  const files = paths.flatMap((path) => {
    try {
      return [{ path, text: readFileSync(path, "utf8") }];
    } catch {
      return []; // deleted in the work tree
    }
  });
  const problems = checkFiles(files);
  if (problems.length > 0) {
    console.error(`dependency rule (docs/architecture.md): ${problems.length} import(s) break it`);
    for (const p of problems) console.error(`  ${p}`);
    process.exit(1);
  }
  console.log(`dependency rule: ${files.length} files, every import allowed`);
}
