import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import semver from "semver";
import { expect, it } from "vitest";

/**
 * The committed lock installs with `npm ci` everywhere, and package.json's `engines` tells the truth
 * about the tree it locks. Both once failed on a clean clone: npm 11 left other platforms' optional
 * packages out of the lock (and `npm ci` refused it), and `engines` said >=20.11 while two locked
 * packages needed 22.
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const read = (path: string) => readFileSync(`${ROOT}${path}`, "utf8");
const pkg = JSON.parse(read("package.json")) as { engines: { node: string } };

interface LockedPackage {
  version?: string;
  engines?: { node?: string } | string[];
  optionalDependencies?: Record<string, string>;
}
const lock = JSON.parse(read("package-lock.json")) as { packages: Record<string, LockedPackage> };

/** Where npm would find `name` from the package at `from` (its own node_modules, then each parent's). */
function resolveLocked(from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = `${dir === "" ? "" : `${dir}/`}node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (dir === "") return undefined;
    const at = dir.lastIndexOf("node_modules/");
    dir = at <= 0 ? "" : dir.slice(0, at - 1);
  }
}

it("locks every optional dependency of every locked package, for every platform (what npm ci checks)", () => {
  const missing: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    for (const name of Object.keys(entry.optionalDependencies ?? {})) {
      if (!resolveLocked(path, name)) missing.push(`${path || "(root)"} → ${name}`);
    }
  }
  expect(missing).toEqual([]);
});

/** The oldest version of each line engines claims: "^22.13.0 || >=24" gives 22.13.0 and 24.0.0. */
const claimedFloors = new semver.Range(pkg.engines.node).set.map((comparators) =>
  semver.minVersion(comparators.map((c) => c.value).join(" ")),
);

it("claims in engines only Node versions every locked package supports", () => {
  expect(claimedFloors.length).toBeGreaterThan(0);
  const unsupported: string[] = [];
  for (const floor of claimedFloors) {
    for (const [path, e] of Object.entries(lock.packages)) {
      const range = e.engines && !Array.isArray(e.engines) ? e.engines.node : undefined;
      if (range && !semver.satisfies(floor!, range, { includePrerelease: true }))
        unsupported.push(`${path}@${e.version} needs node ${range}, engines claims ${floor}`);
    }
  }
  expect(unsupported, `engines.node is ${pkg.engines.node}`).toEqual([]);
});

it("tests the lines it claims: .ci/node.sh's current LTS is .nvmrc's line, and its oldest is engines' oldest line", () => {
  const ci = read(".ci/node.sh");
  const current = /^NODE_CURRENT_LTS=(\S+)$/m.exec(ci)?.[1];
  const oldest = /^NODE_OLDEST=(\S+)$/m.exec(ci)?.[1];
  expect(current && oldest).toBeTruthy();
  expect(semver.satisfies(current!, pkg.engines.node)).toBe(true);
  expect(semver.satisfies(oldest!, pkg.engines.node)).toBe(true);
  expect(semver.major(current!)).toBe(Number(read(".nvmrc").trim()));
  expect(oldest).toBe(
    oldest && semver.satisfies(oldest, pkg.engines.node) ? oldest : "a version engines claims",
  );
  expect(semver.major(oldest!)).toBe(semver.major(semver.minVersion(pkg.engines.node)!));
});
