import { readFileSync } from "node:fs";

/**
 * The package version, read once; undefined when package.json is not where the source tree puts it
 * (a bundled copy of the SDK), since a missing version must not stop an agent from starting.
 */
export const SDK_VERSION: string | undefined = readVersion();

function readVersion(): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      version?: unknown;
    };
    return typeof pkg.version === "string" ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}
