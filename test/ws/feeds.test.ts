import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { events, type FeedClient, type FeedMessage, openFeed } from "./ws-client.ts";

let d: TestDaemon;
const clients: FeedClient[] = [];

beforeAll(async () => {
  d = await startTestDaemon();
});
afterAll(async () => {
  for (const c of clients) c.close();
  await d?.close();
});

async function feed(name: string, query?: string): Promise<FeedClient> {
  const c = await openFeed(d.url, name, { query });
  clients.push(c);
  return c;
}

const isEvent =
  (type: string, where: (e: any) => boolean = () => true) =>
  (m: FeedMessage) =>
    m.type === "event" && m.event.type === type && where(m.event);

describe("snapshot, then deltas", () => {
  it("agents: the snapshot lists the registered agents; a registration arrives as a delta", async () => {
    const first = await d.registerAgent("snap-a", ["snap.work"], { role: "planner" });
    const c = await feed("agents");
    const snapshot = await c.next((m) => m.type === "snapshot", 10_000, "snapshot");
    expect(c.messages[0]?.type).toBe("snapshot");
    expect(snapshot.feed).toBe("agents");
    expect(snapshot.lastEventId).toMatch(/^\d+-\d+$/);
    expect(snapshot.data.agents.agents.map((a: { id: string }) => a.id)).toContain(first.id);

    const second = await d.registerAgent("snap-b", ["snap.work"], { role: "writer" });
    const delta = await c.next(
      isEvent("agent.registered", (e) => e.agentId === second.id),
      10_000,
      "delta",
    );
    expect(delta.event).toMatchObject({ agentId: second.id, role: "writer", name: "snap-b" });
    expect(typeof delta.event.at).toBe("number");
    // Deltas carry ids after the snapshot's.
    expect(BigInt(delta.id.split("-")[0])).toBeGreaterThanOrEqual(BigInt(snapshot.lastEventId.split("-")[0]));
    // The agents feed carries no task events.
    const r = await d.api("POST", "/api/tasks", { body: { type: "snap.work", payload: {} } });
    expect(r.status).toBe(202);
    await new Promise((res) => setTimeout(res, 300));
    expect(events(c.messages).filter((m) => m.event.type.startsWith("task."))).toEqual([]);
  });

  it("tasks: the snapshot is the queue read; a submit arrives as task.submitted", async () => {
    await d.api("POST", "/api/tasks", { body: { type: "snap.queue", payload: {} } });
    const c = await feed("tasks");
    const snapshot = await c.next((m) => m.type === "snapshot", 10_000, "snapshot");
    expect(snapshot.data.tasks.queues).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: "snap.queue", state: "ready", count: 1 })]),
    );
    const r = await d.api("POST", "/api/tasks", { body: { type: "snap.queue", payload: {} } });
    const delta = await c.next(
      isEvent("task.submitted", (e) => e.taskId === r.body.id),
      10_000,
      "delta",
    );
    expect(delta.event.taskType).toBe("snap.queue");
  });

  it("system, coordination and dashboard answer with their snapshots", async () => {
    // The snapshot carries /readyz's answer, whose leader check is false until the leader loop's
    // first tick: on a loaded machine that can come after the daemon is up. Wait for it as a load
    // balancer would, then read the snapshot.
    await expect.poll(async () => (await d.api("GET", "/readyz")).status, { timeout: 10_000 }).toBe(200);
    const system = await feed("system");
    const s = await system.next((m) => m.type === "snapshot", 10_000, "system snapshot");
    expect(s.data.system).toMatchObject({ replicaId: d.daemon.replicaId, lifecycle: "RUNNING", ready: true });
    const coordination = await feed("coordination");
    const c = await coordination.next((m) => m.type === "snapshot", 10_000, "coordination snapshot");
    expect(c.data.coordination).toHaveProperty("runs");
    const all = await feed("dashboard");
    const a = await all.next((m) => m.type === "snapshot", 10_000, "dashboard snapshot");
    expect(Object.keys(a.data).sort()).toEqual(["agents", "coordination", "system", "tasks"]);
  });
});

describe("subscribe and unsubscribe with filters", () => {
  /** Emits `emit`, then a sentinel the client surely gets; returns the events before the sentinel. */
  async function received(c: FeedClient, emit: () => void, sentinel: () => void, sentinelType: string) {
    const before = c.messages.length;
    emit();
    sentinel();
    const s = await c.next(
      (m) => c.messages.indexOf(m) >= before && isEvent(sentinelType, (e) => e.agentId === "sentinel")(m),
      10_000,
      "sentinel",
    );
    return events(c.messages.slice(before, c.messages.indexOf(s)));
  }

  it("filters by role (connect query), taskType, runId and agentId; unsubscribe stops a filter", async () => {
    const c = await feed("dashboard", "role=planner");
    await c.next((m) => m.type === "snapshot", 10_000, "snapshot");
    const bus = d.daemon.bus;
    // The sentinel matches only the subscription added for it.
    c.send({ type: "subscribe", id: "sentinel", filter: { agentId: "sentinel" } });
    await c.next((m) => m.type === "subscribed" && m.id === "sentinel");
    const sentinel = () =>
      bus.emit("agent.registered", { agentId: "sentinel", name: "s", role: "sentinel", capabilities: [] });
    const agent = (agentId: string, role: string) =>
      bus.emit("agent.registered", { agentId, name: agentId, role, capabilities: [] });
    const noSystem = (list: FeedMessage[]) => list.filter((m) => m.event.agentId !== "sentinel");

    // role (from the connect query)
    let got = await received(
      c,
      () => {
        agent("a-planner", "planner");
        agent("a-writer", "writer");
      },
      sentinel,
      "agent.registered",
    );
    expect(noSystem(got).map((m) => m.event.agentId)).toEqual(["a-planner"]);

    // taskType: subscribe, and drop the role filter
    c.send({ type: "subscribe", id: "t", filter: { taskType: ["type.x", "type.z"] } });
    await c.next((m) => m.type === "subscribed" && m.id === "t");
    c.send({ type: "unsubscribe", id: "default" });
    await c.next((m) => m.type === "unsubscribed" && m.id === "default");
    got = await received(
      c,
      () => {
        for (const taskType of ["type.x", "type.y", "type.z"]) {
          bus.emit("task.submitted", { taskId: `t-${taskType}`, taskType, priority: 0 });
        }
        agent("a-planner-2", "planner");
      },
      sentinel,
      "agent.registered",
    );
    expect(noSystem(got).map((m) => m.event.taskId)).toEqual(["t-type.x", "t-type.z"]);

    // runId
    c.send({ type: "unsubscribe", id: "t" });
    c.send({ type: "subscribe", id: "r", filter: { runId: "run-1" } });
    await c.next((m) => m.type === "subscribed" && m.id === "r");
    got = await received(
      c,
      () => {
        for (const runId of ["run-1", "run-2"]) {
          bus.emit("pipeline.run.started", { runId, template: "mission", version: 1, priority: 0 });
        }
        bus.emit("task.submitted", { taskId: "t-after", taskType: "type.x", priority: 0 });
      },
      sentinel,
      "agent.registered",
    );
    expect(noSystem(got).map((m) => [m.event.type, m.event.runId])).toEqual([
      ["pipeline.run.started", "run-1"],
    ]);

    // agentId, together with the run filter (either matches); an event without agentId does not
    c.send({ type: "subscribe", id: "a", filter: { agentId: "agent-7" } });
    await c.next((m) => m.type === "subscribed" && m.id === "a");
    got = await received(
      c,
      () => {
        bus.emit("task.claimed", {
          taskId: "t1",
          taskType: "type.q",
          agentId: "agent-7",
          attempt: 1,
          queueWaitMs: 1,
        });
        bus.emit("task.claimed", {
          taskId: "t2",
          taskType: "type.q",
          agentId: "agent-8",
          attempt: 1,
          queueWaitMs: 1,
        });
        bus.emit("pipeline.run.progress", { runId: "run-1", template: "mission", percent: 50 });
        bus.emit("task.submitted", { taskId: "t3", taskType: "type.q", priority: 0 });
      },
      sentinel,
      "agent.registered",
    );
    expect(noSystem(got).map((m) => m.event.taskId ?? m.event.runId)).toEqual(["t1", "run-1"]);
  });

  it("answers a bad message with an error and keeps the socket", async () => {
    const c = await feed("tasks");
    await c.next((m) => m.type === "snapshot");
    c.send({ type: "subscribe", id: "x", filter: { colour: "red" } });
    const e = await c.next((m) => m.type === "error");
    expect(e.code).toBe("bad_message");
    expect(e.message).toMatch(/unknown filter key/);
    c.ws.send("not json");
    c.send({ type: "unsubscribe", id: "nope" });
    const u = await c.next((m) => m.type === "error" && m.code === "unknown_subscription");
    expect(u.message).toMatch(/nope/);
    expect(c.ws.readyState).toBe(c.ws.OPEN);
  });
});

describe("metrics and shutdown", () => {
  it("exports connected clients by feed and messages sent", async () => {
    const text = (await d.api("GET", "/metrics", { token: null })).text;
    expect(text).toMatch(/overseer_ws_clients\{feed="dashboard"\} [1-9]/);
    expect(text).toMatch(/overseer_ws_messages_sent_total\{feed="agents"\} [1-9]/);
  });

  it("closes every client with 1001 on stop, without overrunning the grace time", async () => {
    const other = await startTestDaemon();
    try {
      const c = await openFeed(other.url, "dashboard");
      await c.next((m) => m.type === "snapshot");
      await other.daemon.stop();
      expect((await c.closed).code).toBe(1001);
      expect(other.daemon.drainOverruns).toEqual([]);
    } finally {
      await other.close();
    }
  });
});
