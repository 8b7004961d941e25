import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthRequirement } from "../../api/auth.ts";
import type { RouteEntry } from "../../api/server.ts";
import { startTestDaemon, type TestAgent, type TestDaemon } from "../helpers/daemon-harness.ts";
import { TOKENS } from "../helpers/test-env.ts";

/**
 * The role matrix for EVERY route the server registers (read from the server's own route table, so
 * routes added later are covered without touching this file): for each token kind, a request is
 * refused with 401 (no or unknown token) or 403 (role too low), or gets past authorisation (any
 * other status; harmless bodies and unknown ids make that a 400/404/409 as a rule).
 */
type Kind = "none" | "bad" | "agent" | "registrar" | "viewer" | "operator" | "admin";
const KINDS: Kind[] = ["none", "bad", "agent", "registrar", "viewer", "operator", "admin"];

/** Written out here rather than taken from api/auth.ts, so the test does not check the code against itself. */
const ALLOWED: Record<AuthRequirement, Kind[]> = {
  public: KINDS,
  viewer: ["viewer", "operator", "admin"],
  operator: ["operator", "admin"],
  admin: ["admin"],
  agent: ["agent"],
  "agent-or-operator": ["agent", "operator", "admin"],
  register: ["registrar", "admin"],
};

/** Routes a third-party plugin registers: the OpenAPI document and its UI are public by design. */
const PLUGIN_ROUTES = /^\/docs(\/|$)/;
const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";

let d: TestDaemon;
let agent: TestAgent;
let routes: RouteEntry[];

beforeAll(async () => {
  d = await startTestDaemon({ OVERSEER_CONTROL_RATE_BURST: "100000" });
  agent = await d.registerAgent("matrix", ["matrix.work"]);
  routes = (d.daemon.app as unknown as { routeTable: RouteEntry[] }).routeTable.filter(
    (r) => r.method !== "HEAD" && r.method !== "OPTIONS",
  );
});
afterAll(async () => {
  await d?.close();
});

function tokenOf(kind: Kind): string | undefined {
  switch (kind) {
    case "none":
      return undefined;
    case "bad":
      return "not-a-real-token-0123456789";
    case "agent":
      return agent.token;
    case "registrar":
      return TOKENS.agentSecret;
    default:
      return TOKENS[kind];
  }
}

/** A concrete URL for a route: an agent's own id under /api/agents for agent tokens, else unknown ids. */
function urlFor(route: RouteEntry, kind: Kind): string {
  return route.url
    .split("/")
    .map((part) => {
      if (part === "*") return "x";
      if (!part.startsWith(":")) return part;
      if (kind === "agent" && route.url.startsWith("/api/agents/:id")) return agent.id;
      return /id$/i.test(part) ? UNKNOWN_ID : "x";
    })
    .join("/");
}

async function statusOf(route: RouteEntry, kind: Kind): Promise<number> {
  const token = tokenOf(kind);
  const app = d.daemon.app;
  if (!app) throw new Error("daemon has no app");
  const send = app.inject({
    method: route.method as "GET",
    url: urlFor(route, kind),
    headers: token ? { authorization: `Bearer ${token}` } : {},
    ...(["POST", "PUT", "PATCH"].includes(route.method) ? { payload: {} } : {}),
  });
  // A request that is still waiting after 5 s got past authorisation (a long poll or a stream).
  const waited = new Promise<number>((resolve) => setTimeout(() => resolve(-1), 5_000).unref());
  return Promise.race([send.then((r) => r.statusCode), waited]);
}

describe("role matrix", () => {
  it("finds the routes of every area, including ones this test never names", () => {
    const urls = new Set(routes.map((r) => `${r.method} ${r.url}`));
    expect(urls).toContain("POST /api/tasks");
    expect(urls).toContain("POST /api/agents/:id/claim");
    expect(urls).toContain("POST /api/dashboard/system/emergency-override");
    expect(urls).toContain("GET /api/audit");
    expect(routes.length).toBeGreaterThan(40);
  });

  it("every route declares its auth (plugin-owned /docs routes aside)", () => {
    const undeclared = routes.filter((r) => !PLUGIN_ROUTES.test(r.url) && !r.config.auth);
    expect(undeclared.map((r) => `${r.method} ${r.url}`)).toEqual([]);
  });

  it("401 without or with an unknown token, 403 below the role, and through where allowed", async () => {
    const wrong: string[] = [];
    const serverErrors: string[] = [];
    let checked = 0;
    for (const route of routes) {
      if (PLUGIN_ROUTES.test(route.url)) continue;
      const need = route.config.auth as AuthRequirement;
      for (const kind of KINDS) {
        const status = await statusOf(route, kind);
        checked++;
        const allowed = ALLOWED[need].includes(kind);
        const expected = allowed ? "not 401/403" : kind === "none" || kind === "bad" ? "401" : "403";
        const ok = allowed
          ? status !== 401 && status !== 403
          : status === (kind === "none" || kind === "bad" ? 401 : 403);
        if (!ok)
          wrong.push(`${route.method} ${route.url} [${need}] as ${kind}: ${status}, expected ${expected}`);
        if (status >= 500) serverErrors.push(`${route.method} ${route.url} as ${kind}: ${status}`);
      }
    }
    console.log(
      `role-matrix: ${routes.length} routes × ${KINDS.length} token kinds = ${checked} requests checked`,
    );
    expect(wrong).toEqual([]);
    // The harmless bodies and ids the matrix sends are bad input for most routes: a clear 4xx, never a 5xx.
    expect(serverErrors).toEqual([]);
  });
});
