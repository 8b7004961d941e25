import { afterAll, beforeAll, expect, it } from "vitest";
import { eventually, startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { freshNamespace } from "../helpers/test-env.ts";
import { type FeedClient, openFeed } from "./ws-client.ts";

const MAX_BUFFERED = 65_536;
let d: TestDaemon;
let pinged: TestDaemon;
let a: TestDaemon;
let b: TestDaemon;
const clients: FeedClient[] = [];

beforeAll(async () => {
  const shared = freshNamespace();
  [d, pinged, a, b] = await Promise.all([
    startTestDaemon({
      OVERSEER_WS_MAX_BUFFERED_BYTES: String(MAX_BUFFERED),
      OVERSEER_WS_MAX_QUEUED_MESSAGES: "50",
    }),
    startTestDaemon({ OVERSEER_WS_PING_INTERVAL_MS: "100ms" }),
    startTestDaemon({}, shared),
    startTestDaemon({}, shared),
  ]);
});
afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all([d?.close(), pinged?.close(), b?.close({ keepData: true })]);
  await a?.close();
});

async function feed(t: TestDaemon, name: string): Promise<FeedClient> {
  const c = await openFeed(t.url, name);
  clients.push(c);
  await c.next((m) => m.type === "snapshot", 10_000, "snapshot");
  return c;
}

async function dropped(t: TestDaemon, reason: string): Promise<number> {
  const m = await t.daemon.metrics.wsClientsDropped.get();
  return m.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

it("closes a client that stops reading with 4008 while its unsent bytes stay within the bound", async () => {
  const slow = await feed(d, "system");
  const healthy = await feed(d, "system");
  const hub = d.daemon.feeds!;
  const [session] = hub.sessions();
  expect(session).toBeDefined();
  slow.socket().pause();

  // 2 KB events until the slow client is dropped; bounded (a few MB of kernel buffers fill first).
  // Small bursts: the healthy client (in this same process) reads between them.
  const message = "x".repeat(2_048);
  let emitted = 0;
  while (!session!.closed && emitted < 50_000) {
    for (let i = 0; i < 10; i++) d.daemon.bus.emit("loop.error", { loop: "ws-test", message });
    emitted += 10;
    await new Promise((r) => setTimeout(r, 5));
  }
  expect(session!.closed).toBe(true);
  expect(await dropped(d, "slow_consumer")).toBe(1);
  // The bound held: at most one message over it was ever waiting in this process.
  expect(session!.stats.maxBufferedAmount).toBeLessThanOrEqual(MAX_BUFFERED + session!.stats.largestFrame);
  expect(session!.stats.maxQueued).toBeLessThanOrEqual(51);
  expect(hub.sessions().length).toBe(1);

  // Once it reads again it finds the close frame after what was already sent.
  slow.socket().resume();
  expect((await slow.closed).code).toBe(4008);
  // The healthy client kept up and stays connected.
  expect(healthy.ws.readyState).toBe(healthy.ws.OPEN);
});

it("drops a client that stops answering pings, and keeps one that answers", async () => {
  const dead = await feed(pinged, "agents");
  const alive = await feed(pinged, "agents");
  expect(pinged.daemon.feeds!.sessions().length).toBe(2);
  // A paused socket reads no pings, so it sends no pongs.
  dead.socket().pause();
  await eventually(async () => (await dropped(pinged, "ping_timeout")) === 1, 10_000, "ping timeout");
  expect(pinged.daemon.feeds!.sessions().length).toBe(1);
  // Several more ping rounds: the answering client is still there.
  const before = await dropped(pinged, "ping_timeout");
  await new Promise((r) => setTimeout(r, 500));
  expect(await dropped(pinged, "ping_timeout")).toBe(before);
  expect(alive.ws.readyState).toBe(alive.ws.OPEN);
  const gauge = (await pinged.daemon.metrics.wsClients.get()).values.find((v) => v.labels.feed === "agents");
  expect(gauge?.value).toBe(1);
});

it("delivers an event emitted on replica A to a client of replica B, and the other way round", async () => {
  const onB = await feed(b, "agents");
  const onA = await feed(a, "agents");
  const agent = await a.registerAgent("cross-replica", ["x.work"], { role: "roamer" });
  const got = await onB.next(
    (m) => m.type === "event" && m.event.type === "agent.registered" && m.event.agentId === agent.id,
    10_000,
    "the event from replica A",
  );
  expect(got.event.role).toBe("roamer");
  // Each event once per client, on both replicas, with the same id.
  const onAEvent = await onA.next((m) => m.type === "event" && m.event.agentId === agent.id);
  expect(onAEvent.id).toBe(got.id);
  const r = await b.api("DELETE", `/api/agents/${agent.id}`);
  expect(r.status).toBeLessThan(300);
  await onA.next((m) => m.type === "event" && m.event.type === "agent.left", 10_000, "left via B, seen on A");
  expect(onB.messages.filter((m) => m.type === "event" && m.event.type === "agent.registered")).toHaveLength(
    1,
  );
});
