/**
 * Which folder may import which (docs/architecture.md, "Dependency rule"). Imports run one way, down
 * to the contract: the composition root on top sees everything; the API speaks through services;
 * probes and recovery use services, never the stores; stores at the bottom own their tables.
 * `tools/check-dependencies.ts` checks every import of every file against this table in `npm test`.
 */

/** A folder (by path prefix) and what its files may import. */
export interface Layer {
  /** Path prefix, e.g. `daemon/store/`; the longest matching prefix decides. */
  prefix: string;
  /** Prefixes of our own files it may import (its own prefix is always allowed). */
  mayImport: string[];
  /** Packages it may not import (the storage drivers are for the stores and the composition root). */
  forbiddenPackages?: string[];
  /** Path prefixes it may not import even though `mayImport` covers them. */
  mayNotImport?: string[];
  /** Files it may not import, by name (stores never import the services above them). */
  mayNotImportFiles?: RegExp;
}

const DRIVERS = ["pg", "ioredis", "bullmq", "@electric-sql/pglite", "@electric-sql/pglite-socket"];
const SERVER = ["daemon/", "api/", "probes/", "recovery/", "app/"];

export const LAYERS: Layer[] = [
  // The ground floor: what the server and its clients share. Only third-party packages below it.
  { prefix: "contract/", mayImport: [], forbiddenPackages: DRIVERS },
  // The agent SDK and the operator CLI: clients, on the contract alone.
  { prefix: "sdk/", mayImport: ["contract/"], forbiddenPackages: DRIVERS },
  // Core: state machines, decisions and services over the stores. Only the stores speak to drivers.
  { prefix: "daemon/", mayImport: ["contract/"], forbiddenPackages: DRIVERS },
  // Stores at the bottom: SQL, Lua and Redis keys; they may use pure decision code, never services.
  {
    prefix: "daemon/store/",
    mayImport: ["contract/", "daemon/"],
    mayNotImportFiles: /-(service|reads)\.ts$/,
  },
  // Detect, then decide and act, through the daemon's services.
  {
    prefix: "probes/",
    mayImport: ["contract/", "daemon/"],
    mayNotImport: ["daemon/store/"],
    forbiddenPackages: DRIVERS,
  },
  {
    prefix: "recovery/",
    mayImport: ["contract/", "daemon/", "probes/"],
    mayNotImport: ["daemon/store/"],
    forbiddenPackages: DRIVERS,
  },
  // Speaks HTTP and WebSocket over the services.
  {
    prefix: "api/",
    mayImport: ["contract/", "daemon/", "probes/", "recovery/"],
    mayNotImport: ["daemon/store/"],
    forbiddenPackages: DRIVERS,
  },
  // The composition root: the one place that sees every server folder (never the SDK).
  { prefix: "app/", mayImport: ["contract/", ...SERVER] },
  // The operator console runs in the browser: it speaks to the daemon over the API alone, so it sees
  // the contract's types (erased when bundled) and nothing of the server.
  { prefix: "console/", mayImport: ["contract/"], forbiddenPackages: DRIVERS },
  // The demo runs a daemon with SDK agents beside it.
  { prefix: "demo/", mayImport: ["contract/", "sdk/", ...SERVER] },
  // Tools, dashboards-as-code, benchmarks and tests may look at anything.
  { prefix: "grafana/", mayImport: ["contract/", "daemon/"] },
  { prefix: "tools/", mayImport: ["contract/", "sdk/", ...SERVER, "demo/", "grafana/", "console/"] },
  { prefix: "bench/", mayImport: ["contract/", "sdk/", ...SERVER, "demo/", "test/", "tools/"] },
  {
    prefix: "test/",
    mayImport: ["contract/", "sdk/", ...SERVER, "demo/", "bench/", "grafana/", "tools/", "console/"],
  },
];

/** The layer a file belongs to: the longest prefix that matches, or undefined (root files). */
export function layerOf(file: string): Layer | undefined {
  let best: Layer | undefined;
  for (const layer of LAYERS) {
    if (file.startsWith(layer.prefix) && (!best || layer.prefix.length > best.prefix.length)) best = layer;
  }
  return best;
}

/** Why `file` may not import `target` (a repo path, or a package name when `isPackage`), or null. */
export function violation(file: string, target: string, isPackage: boolean): string | null {
  const layer = layerOf(file);
  if (!layer) return null;
  if (isPackage) {
    const forbidden = layer.forbiddenPackages?.find((p) => target === p || target.startsWith(`${p}/`));
    return forbidden
      ? `${layer.prefix} may not import the package ${forbidden} (storage drivers belong to daemon/store/ and app/)`
      : null;
  }
  if (layer.mayNotImportFiles?.test(target)) {
    return `${layer.prefix} may not import ${target} (stores are at the bottom: services use them, not the reverse)`;
  }
  const own = layerOf(target);
  if (own?.prefix.startsWith(layer.prefix) || target.startsWith(layer.prefix)) {
    const denied = layer.mayNotImport?.find((p) => target.startsWith(p));
    return denied ? `${layer.prefix} may not import ${denied}` : null;
  }
  const denied = layer.mayNotImport?.find((p) => target.startsWith(p));
  if (denied) return `${layer.prefix} may not import ${denied} (reach state through the daemon's services)`;
  if (layer.mayImport.some((p) => target.startsWith(p))) return null;
  const top = target.split("/")[0];
  return `${layer.prefix} may not import ${top}/ (allowed: ${layer.mayImport.join(", ") || "nothing of ours"})`;
}
