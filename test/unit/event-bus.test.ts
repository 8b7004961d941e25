import { describe, expect, it } from "vitest";
import { EVENT_TYPES, type EventType, type OverseerEvent } from "../../daemon/events/catalogue.ts";
import { EventBus } from "../../daemon/events/event-bus.ts";

describe("EventBus", () => {
  it("fans each event out to every sink, stamped with the bus clock", () => {
    const bus = new EventBus(() => 42);
    const a: OverseerEvent[] = [];
    const b: OverseerEvent[] = [];
    bus.subscribe((e) => a.push(e));
    bus.subscribe((e) => b.push(e));
    bus.emit("task.submitted", { taskId: "t1", taskType: "x", priority: 3 });
    const expected = { type: "task.submitted", at: 42, taskId: "t1", taskType: "x", priority: 3 };
    expect(a).toEqual([expected]);
    expect(b).toEqual([expected]);
  });

  it("a throwing sink does not stop the others or the caller, and is reported", () => {
    const reported: Array<{ error: unknown; event: OverseerEvent }> = [];
    const bus = new EventBus(
      () => 1,
      (error, event) => reported.push({ error, event }),
    );
    const before: string[] = [];
    const after: string[] = [];
    const boom = new Error("sink down");
    bus.subscribe((e) => before.push(e.type));
    bus.subscribe(() => {
      throw boom;
    });
    bus.subscribe((e) => after.push(e.type));
    expect(() => bus.emit("agent.heartbeat", { agentId: "a1" })).not.toThrow();
    expect(() => bus.emit("leader.acquired", { epoch: 7 })).not.toThrow();
    expect(before).toEqual(["agent.heartbeat", "leader.acquired"]);
    expect(after).toEqual(["agent.heartbeat", "leader.acquired"]);
    expect(reported).toHaveLength(2);
    expect(reported[0]!.error).toBe(boom);
    expect(reported[0]!.event).toMatchObject({ type: "agent.heartbeat", agentId: "a1" });
    expect(reported[1]!.event).toMatchObject({ type: "leader.acquired", epoch: 7 });
  });

  it("without an error callback a throwing sink is still contained", () => {
    const bus = new EventBus();
    const got: string[] = [];
    bus.subscribe(() => {
      throw new Error("x");
    });
    bus.subscribe((e) => got.push(e.type));
    expect(() => bus.emit("loop.error", { loop: "sweep", message: "m" })).not.toThrow();
    expect(got).toEqual(["loop.error"]);
  });

  it("unsubscribe stops delivery to that sink only", () => {
    const bus = new EventBus(() => 0);
    const a: string[] = [];
    const b: string[] = [];
    const stopA = bus.subscribe((e) => a.push(e.type));
    bus.subscribe((e) => b.push(e.type));
    bus.emit("leader.lost", { epoch: 1, reason: "lease_lost" });
    stopA();
    bus.emit("leader.lost", { epoch: 2, reason: "lease_lost" });
    expect(a).toEqual(["leader.lost"]);
    expect(b).toEqual(["leader.lost", "leader.lost"]);
  });

  it("emits with no sinks", () => {
    expect(() => new EventBus().emit("leader.lost", { epoch: 1, reason: "stopping" })).not.toThrow();
  });
});

describe("event catalogue", () => {
  it("EVENT_TYPES has no duplicates and well-formed names", () => {
    expect(new Set(EVENT_TYPES).size).toBe(EVENT_TYPES.length);
    for (const type of EVENT_TYPES) expect(type).toMatch(/^[a-z]+(\.[a-z_]+)+$/);
  });

  it("EVENT_TYPES lists every event type of the catalogue (checked by the compiler)", () => {
    type Missing = Exclude<EventType, (typeof EVENT_TYPES)[number]>;
    const complete: [Missing] extends [never] ? true : false = true;
    expect(complete).toBe(true);
  });
});
