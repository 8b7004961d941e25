import { expect, it } from "vitest";
import type { OverseerEvent } from "../../daemon/events/catalogue.ts";
import { FleetTally } from "../../demo/live-view/fleet-tally.ts";

const T0 = 1_796_625_900_000;
const FLAKY = "e3a9ff32-9ff7-4efc-884f-a31bd96c507e";
const DEV = "afd74a40-c469-4ef5-a30f-cb2e8e935cf3";
const TASK = "1f3ab2c4-0000-4000-8000-000000000001";

function feed(t: FleetTally, events: Array<Record<string, unknown>>): void {
  for (const e of events) t.onEvent(e as unknown as OverseerEvent);
}

const registered = (at: number, agentId: string, name: string) => ({
  type: "agent.registered",
  at,
  agentId,
  name,
  role: "developer",
  capabilities: ["code.test"],
});

it("tells an agent's death and where its task went, in one line", () => {
  const t = new FleetTally(T0);
  feed(t, [
    registered(T0, DEV, "developer-1"),
    registered(T0 + 5_000, FLAKY, "flaky-developer-1"),
    {
      type: "agent.stale",
      at: T0 + 10_000,
      agentId: FLAKY,
      role: "developer",
      from: "active",
      heartbeatAgeMs: 2_100,
    },
    {
      type: "agent.dead",
      at: T0 + 11_000,
      agentId: FLAKY,
      role: "developer",
      from: "stale",
      heartbeatAgeMs: 3_240,
    },
    {
      type: "task.requeued",
      at: T0 + 11_000,
      taskId: TASK,
      taskType: "code.test",
      agentId: FLAKY,
      reason: "agent_dead",
      attempt: 1,
    },
  ]);
  expect(t.snapshot(T0 + 11_100).events.at(-1)?.text).toBe(
    "agent flaky-developer-1 dead (no heartbeat for 3.2 s) · task 1f3ab2c4 back in the queue",
  );
  feed(t, [
    {
      type: "task.claimed",
      at: T0 + 11_200,
      taskId: TASK,
      taskType: "code.test",
      agentId: DEV,
      attempt: 2,
      queueWaitMs: 200,
    },
  ]);
  const events = t.snapshot(T0 + 12_000).events.map((e) => e.text);
  expect(events).toEqual([
    "agent developer-1 registered (developer)",
    "agent flaky-developer-1 registered (developer)",
    "agent flaky-developer-1 stale (no heartbeat for 2.1 s)",
    "agent flaky-developer-1 dead (no heartbeat for 3.2 s) · task 1f3ab2c4 moved to developer-1",
  ]);
});

it("lists a lost attempt's task under the dead agent once, whether it is retried or requeued", () => {
  const t = new FleetTally(T0);
  feed(t, [
    { type: "agent.dead", at: T0, agentId: FLAKY, role: "developer", from: "stale", heartbeatAgeMs: 3_000 },
    {
      type: "task.failed",
      at: T0,
      taskId: TASK,
      taskType: "code.test",
      agentId: FLAKY,
      attempt: 1,
      category: "lost_heartbeat",
      retryable: true,
      durationMs: 900,
    },
    {
      type: "task.requeued",
      at: T0,
      taskId: TASK,
      taskType: "code.test",
      agentId: FLAKY,
      reason: "agent_dead",
      attempt: 1,
    },
  ]);
  // Never registered while the tally listened: named by role and short id.
  expect(t.snapshot(T0 + 100).events.map((e) => e.text)).toEqual([
    "agent developer e3a9ff32 dead (no heartbeat for 3.0 s) · task 1f3ab2c4 back in the queue",
  ]);
});

it("merges registrations close together into one line", () => {
  const t = new FleetTally(T0);
  feed(t, [
    registered(T0, "a1", "researcher-1"),
    registered(T0 + 500, "a2", "researcher-2"),
    registered(T0 + 1_800, "a3", "developer-1"),
    registered(T0 + 9_000, "a4", "flaky-developer-2"),
  ]);
  expect(t.snapshot(T0 + 9_000).events).toEqual([
    { at: T0 + 1_800, text: "3 agents registered: researcher-1, researcher-2, developer-1" },
    { at: T0 + 9_000, text: "agent flaky-developer-2 registered (developer)" },
  ]);
});

it("counts completions and failed attempts over the window, or over its age while younger", () => {
  const t = new FleetTally(T0, 10_000);
  const done = (at: number) => ({
    type: "task.completed",
    at,
    taskId: TASK,
    taskType: "code.test",
    agentId: DEV,
    attempt: 1,
    durationMs: 500,
  });
  const failed = (at: number) => ({
    type: "task.failed",
    at,
    taskId: TASK,
    taskType: "code.test",
    agentId: DEV,
    attempt: 1,
    category: "timeout",
    retryable: true,
    durationMs: 500,
  });
  feed(t, [done(T0 + 1_000), done(T0 + 2_000), failed(T0 + 3_000)]);
  expect(t.snapshot(T0 + 4_000)).toMatchObject({ windowMs: 4_000, completed: 2, attemptsFailed: 1 });
  feed(t, [done(T0 + 12_500), failed(T0 + 14_000)]);
  // From T0 + 5 s: the first two completions and the first failure are older than the window.
  expect(t.snapshot(T0 + 15_000)).toMatchObject({ windowMs: 10_000, completed: 1, attemptsFailed: 1 });
  // Routine events are counted, not listed.
  expect(t.snapshot(T0 + 15_000).events).toEqual([]);
});

it("keeps the latest fifty events and what the demo itself notes", () => {
  const t = new FleetTally(T0);
  for (let i = 0; i < 60; i++) t.note(T0 + i * 10_000, `note ${i}`);
  const events = t.snapshot(T0 + 600_000).events;
  expect(events).toHaveLength(50);
  expect(events[0]?.text).toBe("note 10");
  expect(events.at(-1)?.text).toBe("note 59");
});
