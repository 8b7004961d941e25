import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RouteEntry } from "../../api/server.ts";
import { ROUTE_CONTRACTS } from "../../contract/routes/index.ts";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";

/** The routes a daemon serves are exactly the contract's, each with the access its contract names. */
let d: TestDaemon;
beforeAll(async () => {
  d = await startTestDaemon();
});
afterAll(async () => {
  await d.close();
});

// The OpenAPI document and its UI, registered by @fastify/swagger(-ui) rather than from a contract,
// and the console's static files (no API: api/routes/console-routes.ts).
const PLUGIN_ROUTES = /^\/(docs|ui)(\/|$)/;

describe("routes and contracts", () => {
  it("serves every contract route and no route without a contract", () => {
    const table = (d.daemon.app as unknown as { routeTable: RouteEntry[] }).routeTable.filter(
      (r) => !PLUGIN_ROUTES.test(r.url) && r.method !== "HEAD",
    );
    const served = table.map((r) => `${r.method} ${r.url}`).sort();
    const contracted = ROUTE_CONTRACTS.map((r) => `${r.method} ${r.url}`).sort();
    expect(served).toEqual(contracted);
    for (const r of ROUTE_CONTRACTS) {
      const entry = table.find((t) => t.method === r.method && t.url === r.url);
      expect(entry?.config.auth, `${r.method} ${r.url}`).toBe(r.auth);
    }
    const ids = ROUTE_CONTRACTS.map((r) => r.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    console.log(`route-coverage: ${served.length} routes served, each from its contract`);
  });
});
