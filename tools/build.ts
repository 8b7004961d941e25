import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildConsole } from "./build-console.ts";

/**
 * `npm run build`: compiles the daemon, CLI, SDK and demo to JavaScript (tsconfig.build.json) and
 * builds the operator console (tools/build-console.ts) into dist/console, then
 * copies the files they read at run time beside the compiled modules, at the same relative paths
 * the sources use: the Redis Lua scripts, the SQL migrations, and a package.json (name, version,
 * "type": "module") that daemon/version.ts and sdk/version.ts read as `../package.json`.
 *
 * `--out-dir <dir>` builds somewhere other than dist/ (test/ship builds into a temporary directory
 * so the suite never touches a developer's dist/).
 */

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Source folders (relative to the repository) whose non-TypeScript files the compiled code reads. */
export const RUNTIME_ASSETS = ["daemon/store/redis/lua", "daemon/store/migrations"] as const;

export async function build(outDir: string): Promise<void> {
  const out = resolve(ROOT, outDir);
  rmSync(out, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  const result = spawnSync(
    process.execPath,
    [tsc, "-p", join(ROOT, "tsconfig.build.json"), "--outDir", out],
    {
      stdio: "inherit",
    },
  );
  if (result.status !== 0) throw new Error(`tsc exited with ${result.status ?? result.signal}`);
  for (const dir of RUNTIME_ASSETS) {
    mkdirSync(join(out, dir), { recursive: true });
    cpSync(join(ROOT, dir), join(out, dir), { recursive: true, filter: (src) => !src.endsWith(".ts") });
  }
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    name: string;
    version: string;
  };
  writeFileSync(
    join(out, "package.json"),
    `${JSON.stringify({ name: pkg.name, version: pkg.version, type: "module", private: true }, null, 2)}\n`,
  );
  // The console, where api/routes/console-assets.ts looks for it: console/ beside the compiled api/.
  await buildConsole(join(out, "console"));
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--out-dir");
  const outDir = i > 0 ? process.argv[i + 1] : "dist";
  if (outDir === undefined) throw new Error("--out-dir needs a directory");
  await build(outDir);
  process.stdout.write(`built ${resolve(ROOT, outDir)}\n`);
}
