import { cpSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

/**
 * Builds the operator console (console/) into `outDir`: console/static as is, and console/src
 * bundled by esbuild into one ES module, app.js, with its source map. The daemon serves the result
 * at /ui (api/routes/console-routes.ts). `npm run build` writes it to dist/console; the demo and the
 * tests build into a directory of their own and point OVERSEER_CONSOLE_DIR at it.
 */
const ROOT = fileURLToPath(new URL("../", import.meta.url));

export async function buildConsole(outDir: string): Promise<string> {
  const out = resolve(outDir);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  cpSync(join(ROOT, "console/static"), out, { recursive: true });
  await build({
    entryPoints: [join(ROOT, "console/src/main.ts")],
    outfile: join(out, "app.js"),
    bundle: true,
    format: "esm",
    // Browsers of the last two years; the console uses <dialog>, crypto.randomUUID and ES2022.
    target: ["es2022", "chrome110", "firefox115", "safari16"],
    minify: true,
    sourcemap: true,
    legalComments: "none",
    logLevel: "warning",
  });
  return out;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--out-dir");
  const outDir = i > 0 ? process.argv[i + 1] : "dist/console";
  if (outDir === undefined) throw new Error("--out-dir needs a directory");
  process.stdout.write(`built the console in ${await buildConsole(outDir)}\n`);
}
