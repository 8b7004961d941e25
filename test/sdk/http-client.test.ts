import { afterEach, describe, expect, it } from "vitest";
import { ApiError, HttpClient } from "../../sdk/http-client.ts";
import { cleanup, deadUrl, startStub } from "./helpers.ts";

afterEach(cleanup);

const fast = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 };

/** A fetch that answers from a list and records the URLs it was called with. */
function scriptedFetch(
  answers: Array<() => Response | Promise<Response>>,
): typeof fetch & { urls: string[] } {
  const urls: string[] = [];
  const fn = async (input: string | URL | Request): Promise<Response> => {
    urls.push(String(input));
    const next = answers.shift();
    if (!next) throw new Error("no more scripted answers");
    return next();
  };
  return Object.assign(fn as typeof fetch, { urls });
}

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}) =>
  () =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json", ...headers },
    });

describe("HttpClient", () => {
  it("sends the bearer token and JSON body, and parses the answer", async () => {
    const stub = await startStub();
    const client = new HttpClient({ urls: [`${stub.url}/`] });
    const res = await client.request<{ id: string }>("POST", "/api/agents/register", {
      token: stub.agentSecret,
      body: { name: "n", role: "r", capabilities: [] },
    });
    expect(res.id).toBe("agent-1");
    expect(stub.requests[0]).toMatchObject({ token: stub.agentSecret, body: { name: "n" } });
  });

  it("turns error bodies into ApiError and does not retry other 4xx", async () => {
    const fetch = scriptedFetch([json(422, { error: { code: "INVALID", message: "bad field" } })]);
    const client = new HttpClient({ urls: ["http://x"], fetch, retry: fast });
    const err = await client.request("POST", "/api/x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 422, code: "INVALID", message: "bad field", transient: false });
    expect(fetch.urls).toHaveLength(1);
    expect((err as ApiError).details).toBeUndefined();
  });

  it("carries the error body's details", async () => {
    const details = { index: 2, field: "stepId" };
    const fetch = scriptedFetch([
      json(400, { error: { code: "OVS_ERR_VALIDATION", message: "m", details } }),
    ]);
    const client = new HttpClient({ urls: ["http://x"], fetch, retry: fast });
    await expect(client.request("POST", "/api/x")).rejects.toMatchObject({ status: 400, details });
  });

  it("keeps raw text for non-JSON error bodies", async () => {
    const fetch = scriptedFetch([() => new Response("upstream exploded", { status: 500 })]);
    const client = new HttpClient({ urls: ["http://x"], fetch, retry: fast });
    await expect(client.request("GET", "/")).rejects.toMatchObject({
      status: 500,
      code: "HTTP_500",
      message: "upstream exploded",
    });
  });

  it("retries 429/502/503/504 up to maxAttempts, then surfaces the last error", async () => {
    const fetch = scriptedFetch([
      json(429, {}),
      json(502, {}),
      json(504, { error: { code: "GW", message: "gw" } }),
    ]);
    const client = new HttpClient({ urls: ["http://x"], fetch, retry: fast });
    await expect(client.request("GET", "/")).rejects.toMatchObject({ status: 504, code: "GW" });
    expect(fetch.urls).toHaveLength(3);
  });

  it("honours Retry-After within the policy's maximum delay", async () => {
    const fetch = scriptedFetch([json(503, {}, { "retry-after": "0.05" }), json(200, { ok: true })]);
    const client = new HttpClient({
      urls: ["http://x"],
      fetch,
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1_000 },
    });
    const startedAt = Date.now();
    await expect(client.request("GET", "/")).resolves.toEqual({ ok: true });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(45);
  });

  it("rotates to the next URL on a network error and stays there", async () => {
    const stub = await startStub();
    const dead = await deadUrl();
    const client = new HttpClient({ urls: [dead, stub.url], retry: fast });
    await expect(client.request("GET", "/api/nowhere")).rejects.toMatchObject({ status: 404 });
    expect(client.baseUrl).toBe(stub.url);
    expect(stub.requests).toHaveLength(1);
  });

  it("reports exhausted network failures as status 0 NETWORK_ERROR", async () => {
    const client = new HttpClient({ urls: [await deadUrl()], retry: fast });
    await expect(client.request("GET", "/")).rejects.toMatchObject({
      status: 0,
      code: "NETWORK_ERROR",
      transient: true,
    });
  });

  it("times out slow requests as transient TIMEOUT errors", async () => {
    const stub = await startStub();
    stub.override(() => new Promise(() => {}));
    const client = new HttpClient({
      urls: [stub.url],
      retry: { ...fast, maxAttempts: 2 },
      requestTimeoutMs: 40,
    });
    await expect(client.request("GET", "/")).rejects.toMatchObject({ status: 0, code: "TIMEOUT" });
    expect(stub.requests).toHaveLength(2);
  });

  it("rejects with the caller's abort reason and does not retry", async () => {
    const stub = await startStub();
    stub.override(() => new Promise(() => {}));
    const client = new HttpClient({ urls: [stub.url], retry: fast });
    const controller = new AbortController();
    const pending = client.request("GET", "/", { signal: controller.signal });
    await stub.waitFor(() => stub.requests.length === 1);
    controller.abort(new Error("stop now"));
    await expect(pending).rejects.toThrow("stop now");
    expect(stub.requests).toHaveLength(1);
  });

  it("resolves empty answers (204) to undefined", async () => {
    const fetch = scriptedFetch([() => new Response(null, { status: 204 })]);
    const client = new HttpClient({ urls: ["http://x"], fetch });
    await expect(client.request("DELETE", "/api/agents/a")).resolves.toBeUndefined();
  });
});
