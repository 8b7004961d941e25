import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { events, type FeedClient, openFeed } from "./ws-client.ts";

/**
 * The feed's stream is kept by age (OVERSEER_WS_STREAM_RETENTION_MS, here 5 s), capped in entries:
 * a client resumes across thousands of other events within the window, and one that comes back
 * after the window gets `too_old` and a fresh snapshot.
 */
const RETENTION_MS = 5_000;
let d: TestDaemon;
const clients: FeedClient[] = [];

beforeAll(async () => {
  d = await startTestDaemon({ OVERSEER_WS_STREAM_RETENTION_MS: String(RETENTION_MS) });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await d?.close();
});

async function feed(query: string): Promise<FeedClient> {
  const c = await openFeed(d.url, "tasks", { query });
  clients.push(c);
  return c;
}

const submitted = (taskType: string, i: number) =>
  d.daemon.bus.emit("task.submitted", {
    taskId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    taskType,
    priority: 0,
  });

describe("feed retention in time", () => {
  let firstId = "";

  it("resumes within the window after thousands of other events (more than the old count cap and replay cap)", async () => {
    const first = await feed("taskType=ret.mine");
    const snapshot = await first.next((m) => m.type === "snapshot");
    firstId = snapshot.lastEventId;
    first.close();
    await first.closed;
    // 5,000 events of other task types, and three of ours among them: the old replay counted every
    // entry against its cap of 1,000 and answered too_old.
    for (let i = 0; i < 5_000; i++) {
      submitted("ret.other", i);
      if (i % 2_000 === 1_000) submitted("ret.mine", i);
    }
    submitted("ret.mine", 5_000);
    await delay(300);

    const again = await feed(`taskType=ret.mine&lastEventId=${firstId}`);
    const resumed = await again.next(
      (m) => m.type === "resumed" || m.type === "reset",
      10_000,
      "resume answer",
    );
    expect(resumed).toMatchObject({ type: "resumed", since: firstId, replayed: 3 });
    await again.next(() => events(again.messages).length === 3, 10_000, "three replayed events");
    expect(events(again.messages).map((m) => m.event.taskType)).toEqual(["ret.mine", "ret.mine", "ret.mine"]);
    // Then live, with no duplicate of the replay.
    submitted("ret.mine", 5_001);
    await again.next(() => events(again.messages).length === 4, 10_000, "the live event");
    expect(new Set(events(again.messages).map((m) => m.id)).size).toBe(4);
    again.close();
  });

  it("says too_old for an id older than the window, then sends a fresh snapshot", async () => {
    expect(firstId).not.toBe("");
    await delay(RETENTION_MS + 500);
    // The age trim runs as events are added (at most once a second): traffic after the window.
    for (let i = 0; i < 300; i++) submitted("ret.later", i);
    await delay(300);
    const late = await feed(`taskType=ret.mine&lastEventId=${firstId}`);
    const reset = await late.next((m) => m.type === "reset" || m.type === "resumed", 10_000, "resume answer");
    expect(reset).toMatchObject({ type: "reset", reason: "too_old", since: firstId });
    const snapshot = await late.next((m) => m.type === "snapshot", 10_000, "snapshot after reset");
    expect(late.messages.indexOf(snapshot)).toBe(late.messages.indexOf(reset) + 1);
  });
});
