import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";

/**
 * True when the module at `moduleUrl` is the script node was started with. Compared through the
 * real path: npm's bin links (node_modules/.bin/overseer, `npm i -g`) and the image's wrappers start
 * the compiled entry points through symlinks, where argv[1] is the link's path.
 */
export function isEntryPoint(moduleUrl: string, argv1: string | undefined = process.argv[1]): boolean {
  if (argv1 === undefined) return false;
  try {
    return moduleUrl === pathToFileURL(realpathSync(argv1)).href;
  } catch {
    return false;
  }
}
