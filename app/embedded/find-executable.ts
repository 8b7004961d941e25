import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

/** Looks `name` up on a PATH-style string, like `which`; returns the absolute path or undefined. */
export function findExecutable(name: string, searchPath = process.env.PATH ?? ""): string | undefined {
  for (const dir of searchPath.split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here (or not executable): keep looking
    }
  }
  return undefined;
}
