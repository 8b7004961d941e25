import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sameOrigin } from "../../api/ws/ws-upgrade.ts";
import { GRAFANA_DASHBOARDS } from "../../contract/grafana-dashboards.ts";
import { buildConsole } from "../../tools/build-console.ts";
import { call } from "../helpers/api-client.ts";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { TOKENS } from "../helpers/test-env.ts";
import { upgradeStatus } from "../ws/ws-client.ts";

/** The console as the daemon serves it: files, headers, its session read, and the same-origin feed rule. */
const dir = mkdtempSync(join(tmpdir(), "overseer-console-"));
let d: TestDaemon;
let unbuilt: TestDaemon;

beforeAll(async () => {
  await buildConsole(dir);
  [d, unbuilt] = await Promise.all([
    startTestDaemon({ OVERSEER_CONSOLE_DIR: dir, OVERSEER_GRAFANA_URL: "https://grafana.example.com/" }),
    startTestDaemon({ OVERSEER_CONSOLE_DIR: join(dir, "nothing-here") }),
  ]);
});
afterAll(async () => {
  await Promise.all([d?.close(), unbuilt?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe("the console's files", () => {
  it("redirects /ui to ui/ relatively, so a path prefix in front of the daemon survives", async () => {
    const r = await fetch(`${d.url}/ui`, { redirect: "manual" });
    expect(r.status).toBe(308);
    expect(r.headers.get("location")).toBe("ui/");
  });

  it("serves index.html and its assets without a token, with a strict policy and revalidation", async () => {
    const page = await fetch(`${d.url}/ui/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(page.headers.get("cache-control")).toBe("no-cache");
    const html = await page.text();
    // Relative asset URLs: the page works under any prefix.
    expect(html).toContain('src="app.js"');
    expect(html).not.toMatch(/(src|href)="\//);
    const js = await fetch(`${d.url}/ui/app.js`);
    expect(js.headers.get("content-type")).toContain("text/javascript");
    const etag = js.headers.get("etag") ?? "";
    expect(etag).toMatch(/^".+"$/);
    const again = await fetch(`${d.url}/ui/app.js`, { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
  });

  it("serves only files of the build: no path from a request reaches the file system", async () => {
    for (const path of ["/ui/nope.js", "/ui/../package.json", "/ui/%2e%2e/package.json", "/ui/app.ts"]) {
      const r = await call(d.url, "GET", path);
      expect(r.status, path).toBe(404);
      expect(r.body.error.code, path).toBe("OVS_ERR_ROUTE_NOT_FOUND");
    }
  });

  it("says how to build the console when it is not built, with a 404 and the usual error body", async () => {
    const r = await call(unbuilt.url, "GET", "/ui/");
    expect(r.status).toBe(404);
    expect(r.body.error.message).toMatch(/not built.*npm run build.*OVERSEER_CONSOLE_DIR/);
  });
});

describe("GET /api/console/session", () => {
  it("names each role token's role and audit name, and where Grafana and its dashboards are", async () => {
    for (const role of ["viewer", "operator", "admin"] as const) {
      const r = await call(d.url, "GET", "/api/console/session", {
        token: TOKENS[role],
        headers: { "x-overseer-actor": "alice" },
      });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        role,
        actor: `${role}:alice`,
        grafana: { url: "https://grafana.example.com", dashboards: { ...GRAFANA_DASHBOARDS } },
      });
    }
    expect(
      (await call(unbuilt.url, "GET", "/api/console/session", { token: TOKENS.viewer })).body.grafana.url,
    ).toBe(null);
  });

  it("refuses no token (401) and agent tokens (403)", async () => {
    expect((await call(d.url, "GET", "/api/console/session")).status).toBe(401);
    expect((await call(d.url, "GET", "/api/console/session", { token: TOKENS.agentSecret })).status).toBe(
      403,
    );
  });
});

describe("an action's audit entry, found by the request id the caller sent", () => {
  it("records the caller's X-Request-Id and filters the audit log by it and by target", async () => {
    const submitted = await d.api("POST", "/api/tasks", { body: { type: "console.audit", payload: {} } });
    const id = submitted.body.id as string;
    const requestId = "console-test-0001";
    const cancel = await call(d.url, "POST", `/api/tasks/${id}/cancel`, {
      token: TOKENS.operator,
      body: { reason: "from the console test" },
      headers: { "x-request-id": requestId },
    });
    expect(cancel.status).toBe(200);
    const byRequest = await d.api("GET", `/api/audit?requestId=${requestId}`);
    expect(byRequest.body.entries).toHaveLength(1);
    expect(byRequest.body.entries[0]).toMatchObject({
      targetId: id,
      requestId,
      reason: "from the console test",
    });
    const byTarget = await d.api("GET", `/api/audit?targetId=${id}`);
    expect(byTarget.body.entries.map((e: { requestId: string }) => e.requestId)).toEqual([requestId]);
    // A request id that is not sane is replaced, not recorded.
    expect((await d.api("GET", "/api/audit?requestId=has%20space")).status).toBe(400);
  });
});

describe("feeds from the console's own origin", () => {
  it("lets a page the daemon served open a feed with no allow-list entry; other origins stay refused", async () => {
    const host = new URL(d.url).host;
    const path = "/api/dashboard/ws/agents";
    const protocols = ["overseer.v1", `bearer.${TOKENS.viewer}`];
    expect(
      (await upgradeStatus(d.url, path, { headers: { origin: `http://${host}` }, protocols })).status,
    ).toBe(101);
    expect(
      (await upgradeStatus(d.url, path, { headers: { origin: "https://evil.example.com" }, protocols }))
        .status,
    ).toBe(403);
  });

  it("compares the Origin's host and port with Host exactly", () => {
    expect(sameOrigin("http://127.0.0.1:8080", "127.0.0.1:8080")).toBe(true);
    expect(sameOrigin("https://ops.example.com", "ops.example.com")).toBe(true);
    expect(sameOrigin("http://127.0.0.1:8081", "127.0.0.1:8080")).toBe(false);
    expect(sameOrigin("http://evil.example.com", "ops.example.com")).toBe(false);
    expect(sameOrigin("null", "ops.example.com")).toBe(false);
    expect(sameOrigin("http://127.0.0.1:8080", undefined)).toBe(false);
  });
});
