import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { TOKENS } from "../helpers/test-env.ts";
import { type FeedClient, openFeed, upgradeStatus } from "./ws-client.ts";

/** Feed connection caps: per token and per replica, 429 with Retry-After past either, a slot freed on close. */
let d: TestDaemon;
const clients: FeedClient[] = [];

beforeAll(async () => {
  d = await startTestDaemon({ OVERSEER_WS_MAX_CLIENTS: "3", OVERSEER_WS_MAX_CLIENTS_PER_TOKEN: "2" });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await d?.close();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function open(token: string): Promise<FeedClient> {
  const c = await openFeed(d.url, "tasks", { headers: bearer(token) });
  clients.push(c);
  await c.next((m) => m.type === "snapshot");
  return c;
}

describe("feed connection caps", () => {
  it("refuses a token past its cap and the replica past its total, and frees a slot when one closes", async () => {
    const first = await open(TOKENS.viewer);
    await open(TOKENS.viewer);
    const third = await upgradeStatus(d.url, "/api/dashboard/ws/tasks", { headers: bearer(TOKENS.viewer) });
    expect(third.status).toBe(429);
    expect(third.retryAfter).toBe("5");
    expect(JSON.parse(third.body).error).toEqual({
      code: "OVS_ERR_TOO_MANY_FEEDS",
      message: "this token holds 2 feed connections (OVERSEER_WS_MAX_CLIENTS_PER_TOKEN): close one first",
    });

    // Another token still gets in, up to the replica's total.
    await open(TOKENS.operator);
    const full = await upgradeStatus(d.url, "/api/dashboard/ws/tasks", { headers: bearer(TOKENS.admin) });
    expect(full.status).toBe(429);
    expect(JSON.parse(full.body).error.message).toBe(
      "this replica holds 3 feed connections (OVERSEER_WS_MAX_CLIENTS): close one first",
    );

    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    expect(metrics).toContain('overseer_ws_clients_refused_total{reason="token_cap"} 1');
    expect(metrics).toContain('overseer_ws_clients_refused_total{reason="replica_cap"} 1');

    // A closed connection frees its token's slot and the replica's.
    first.close();
    await first.closed;
    await expect
      .poll(
        async () =>
          (await upgradeStatus(d.url, "/api/dashboard/ws/tasks", { headers: bearer(TOKENS.viewer) })).status,
        { timeout: 5_000 },
      )
      .toBe(101);
  });
});
