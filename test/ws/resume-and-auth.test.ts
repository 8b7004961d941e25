import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { TOKENS } from "../helpers/test-env.ts";
import { events, type FeedClient, type FeedMessage, openFeed, upgradeStatus } from "./ws-client.ts";

let d: TestDaemon;
let small: TestDaemon;
const clients: FeedClient[] = [];

beforeAll(async () => {
  [d, small] = await Promise.all([
    startTestDaemon({ OVERSEER_WS_ALLOWED_ORIGINS: "https://ops.example.com" }),
    startTestDaemon({ OVERSEER_WS_STREAM_MAXLEN: "10" }),
  ]);
});
afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all([d?.close(), small?.close()]);
});

async function feed(t: TestDaemon, name: string, query?: string): Promise<FeedClient> {
  const c = await openFeed(t.url, name, { query });
  clients.push(c);
  return c;
}

const submitted = (m: FeedMessage) => m.type === "event" && m.event.type === "task.submitted";

async function submit(type: string): Promise<string> {
  const r = await d.api("POST", "/api/tasks", { body: { type, payload: {} } });
  expect(r.status).toBe(202);
  return r.body.id;
}

describe("resume after a reconnect", () => {
  it("replays exactly the events after the last id: no gap, no duplicate; then goes live", async () => {
    const first = await feed(d, "tasks");
    await first.next((m) => m.type === "snapshot");
    const before = [await submit("resume.a"), await submit("resume.a")];
    await first.next(() => events(first.messages).filter(submitted).length === 2, 10_000, "two events");
    const seen = events(first.messages).filter(submitted);
    expect(seen.map((m) => m.event.taskId)).toEqual(before);
    const lastId = seen[1]?.id as string;
    first.close();
    await first.closed;

    const missed = [await submit("resume.a"), await submit("resume.a"), await submit("resume.a")];
    const again = await feed(d, "tasks", `lastEventId=${encodeURIComponent(lastId)}`);
    const resumed = await again.next((m) => m.type === "resumed", 10_000, "resumed");
    expect(resumed).toMatchObject({ since: lastId, replayed: 3 });
    await again.next(() => events(again.messages).length === 3, 10_000, "the replay");
    const live = await submit("resume.a");
    await again.next((m) => submitted(m) && m.event.taskId === live, 10_000, "the live event");
    await new Promise((r) => setTimeout(r, 200));

    const got = events(again.messages);
    expect(got.map((m) => m.event.taskId)).toEqual([...missed, live]);
    // No snapshot on a resume, and ids strictly increase.
    expect(again.messages.some((m) => m.type === "snapshot")).toBe(false);
    const ids = got.map((m) => m.id as string);
    for (let i = 1; i < ids.length; i++) {
      const [a, b] = [ids[i - 1], ids[i]].map((id) => (id as string).split("-").map(BigInt)) as bigint[][];
      expect(a![0]! < b![0]! || (a![0] === b![0] && a![1]! < b![1]!)).toBe(true);
    }
  });

  it("sends reset and a fresh snapshot when the id was trimmed from the stream", async () => {
    const first = await feed(small, "system");
    await first.next((m) => m.type === "snapshot");
    small.daemon.bus.emit("reconcile.repaired", { kind: "first", count: 1 });
    const e = await first.next((m) => m.type === "event" && m.event.kind === "first");
    first.close();
    await first.closed;
    // MAXLEN ~ 10 trims whole stream nodes (100 entries): 400 events surely trim the first.
    for (let i = 0; i < 400; i++) small.daemon.bus.emit("reconcile.repaired", { kind: "filler", count: i });
    await new Promise((r) => setTimeout(r, 300));

    const again = await feed(small, "system", `lastEventId=${e.id}`);
    const reset = await again.next((m) => m.type === "reset", 10_000, "reset");
    expect(reset).toMatchObject({ reason: "too_old", since: e.id });
    const snapshot = await again.next((m) => m.type === "snapshot", 10_000, "snapshot after reset");
    expect(again.messages.indexOf(snapshot)).toBe(again.messages.indexOf(reset) + 1);
    expect(snapshot.data.system.lifecycle).toBe("RUNNING");
    expect(events(again.messages).filter((m) => m.event.kind === "first")).toEqual([]);
  });

  it("sends reset for an id the stream never issued", async () => {
    const c = await feed(d, "tasks", "lastEventId=99999999999999-0");
    const reset = await c.next((m) => m.type === "reset");
    expect(reset.reason).toBe("unknown_id");
    await c.next((m) => m.type === "snapshot");
  });
});

describe("upgrade checks", () => {
  const path = "/api/dashboard/ws/agents";
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it("refuses a missing or unknown token with 401 and no socket", async () => {
    const none = await upgradeStatus(d.url, path);
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body).error.code).toBe("OVS_ERR_UNAUTHENTICATED");
    expect((await upgradeStatus(d.url, path, { headers: bearer("not-a-token-at-all") })).status).toBe(401);
    const protocol = await upgradeStatus(d.url, path, {
      protocols: ["overseer.v1", "bearer.wrong-token-1234"],
    });
    expect(protocol.status).toBe(401);
  });

  it("refuses an agent token with 403; accepts viewer, operator and admin", async () => {
    const agent = await d.registerAgent("ws-agent", ["ws.work"]);
    const refused = await upgradeStatus(d.url, path, { headers: bearer(agent.token) });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).error.code).toBe("OVS_ERR_FORBIDDEN");
    for (const token of [TOKENS.viewer, TOKENS.operator, TOKENS.admin]) {
      expect((await upgradeStatus(d.url, path, { headers: bearer(token) })).status).toBe(101);
    }
  });

  it("refuses an Origin outside the allow-list with 403; allows a listed one and none", async () => {
    const bad = await upgradeStatus(d.url, path, {
      headers: { ...bearer(TOKENS.viewer), origin: "https://evil.example.com" },
    });
    expect(bad.status).toBe(403);
    expect(JSON.parse(bad.body).error.code).toBe("OVS_ERR_ORIGIN_NOT_ALLOWED");
    const good = await upgradeStatus(d.url, path, {
      headers: { ...bearer(TOKENS.viewer), origin: "https://ops.example.com" },
    });
    expect(good.status).toBe(101);
    // The default allow-list is empty: any browser origin is refused there.
    const elsewhere = await upgradeStatus(small.url, path, {
      headers: { ...bearer(TOKENS.viewer), origin: "https://ops.example.com" },
    });
    expect(elsewhere.status).toBe(403);
  });

  it("takes a browser's token as a bearer.<token> subprotocol and answers overseer.v1", async () => {
    const r = await upgradeStatus(d.url, path, {
      headers: { origin: "https://ops.example.com" },
      protocols: ["overseer.v1", `bearer.${TOKENS.viewer}`],
    });
    expect(r).toMatchObject({ status: 101, protocol: "overseer.v1" });
  });

  it("answers 404 for an unknown feed and 400 for a bad filter", async () => {
    const unknown = await upgradeStatus(d.url, "/api/dashboard/ws/nope", { headers: bearer(TOKENS.viewer) });
    expect(unknown.status).toBe(404);
    const long = "x".repeat(300);
    const bad = await upgradeStatus(d.url, `${path}?agentId=${long}`, { headers: bearer(TOKENS.viewer) });
    expect(bad.status).toBe(400);
  });

  it("checks the query string as a subscribe filter: an unknown key or a bad value is 400 before upgrade", async () => {
    const headers = bearer(TOKENS.viewer);
    const colour = await upgradeStatus(d.url, `${path}?colour=red`, { headers });
    expect(colour.status).toBe(400);
    expect(JSON.parse(colour.body).error).toEqual({
      code: "OVS_ERR_VALIDATION",
      message: 'unknown filter key "colour": use agentId, role, taskType, runId',
    });
    // Mixed with good keys it is still refused: nothing quietly streams everything.
    expect((await upgradeStatus(d.url, `${path}?role=planner&colour=red`, { headers })).status).toBe(400);
    const empty = await upgradeStatus(d.url, `${path}?role=`, { headers });
    expect(empty.status).toBe(400);
    expect(JSON.parse(empty.body).error.message).toContain("role: values must be non-empty strings");
    const many = Array.from({ length: 101 }, (_, i) => `taskType=t${i}`).join("&");
    expect((await upgradeStatus(d.url, `${path}?${many}`, { headers })).status).toBe(400);
    const since = await upgradeStatus(d.url, `${path}?lastEventId=yesterday`, { headers });
    expect(since.status).toBe(400);
    expect(JSON.parse(since.body).error.message).toContain("lastEventId must be an event id");
    expect((await upgradeStatus(d.url, `${path}?lastEventId=1-0&lastEventId=2-0`, { headers })).status).toBe(
      400,
    );
    // The same filter is good in the query string as in a subscribe message.
    expect(
      (await upgradeStatus(d.url, `${path}?role=planner&taskType=a&taskType=b`, { headers })).status,
    ).toBe(101);
    expect((await upgradeStatus(d.url, `${path}?lastEventId=0-0&runId=r1`, { headers })).status).toBe(101);
  });
});
