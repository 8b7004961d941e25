import { describe, expect, it } from "vitest";
import { parseClientMessage, parseFilter } from "../../contract/feed-protocol.ts";
import { EVENT_TYPES, type OverseerEvent } from "../../daemon/events/catalogue.ts";
import { compareStreamIds, EVENT_TOPIC, feedCarries, matchesFilter } from "../../daemon/feeds/feed-topics.ts";

const ev = (e: Record<string, unknown>) => ({ at: 1, ...e }) as unknown as OverseerEvent;

describe("feed topics", () => {
  it("give every catalogued event a topic or none; dashboard carries every streamed type", () => {
    for (const type of EVENT_TYPES) {
      expect(type in EVENT_TOPIC, type).toBe(true);
      expect(feedCarries("dashboard", type)).toBe(EVENT_TOPIC[type] !== null);
    }
    expect(feedCarries("agents", "agent.heartbeat")).toBe(false);
    expect(feedCarries("tasks", "task.claimed")).toBe(true);
    expect(feedCarries("agents", "task.claimed")).toBe(false);
  });

  it("match filters: AND across keys, OR within a key, and a missing field does not match", () => {
    const claimed = ev({ type: "task.claimed", taskId: "t", taskType: "a", agentId: "x", attempt: 1 });
    expect(matchesFilter(claimed, {})).toBe(true);
    expect(matchesFilter(claimed, { agentId: ["x"], taskType: ["a", "b"] })).toBe(true);
    expect(matchesFilter(claimed, { agentId: ["x"], taskType: ["b"] })).toBe(false);
    expect(matchesFilter(claimed, { role: ["planner"] })).toBe(false);
  });

  it("parse filters and client messages strictly", () => {
    expect(parseFilter({ agentId: "a", runId: ["r1", "r2"] })).toEqual({
      filter: { agentId: ["a"], runId: ["r1", "r2"] },
    });
    expect(parseFilter({ colour: "red" })).toHaveProperty("problem");
    expect(parseFilter({ role: [] })).toHaveProperty("problem");
    expect(parseFilter({ role: 5 })).toHaveProperty("problem");
    expect(parseClientMessage('{"type":"subscribe","id":"s","filter":{"role":"w"}}')).toEqual({
      type: "subscribe",
      id: "s",
      filter: { role: ["w"] },
    });
    expect(parseClientMessage('{"type":"unsubscribe"}')).toEqual({ type: "unsubscribe", id: "default" });
    expect(parseClientMessage("[]")).toHaveProperty("problem");
    expect(parseClientMessage('{"type":"shout"}')).toHaveProperty("problem");
  });

  it("order stream ids numerically", () => {
    expect(compareStreamIds("9-0", "10-0")).toBeLessThan(0);
    expect(compareStreamIds("10-2", "10-10")).toBeLessThan(0);
    expect(compareStreamIds("10-2", "10-2")).toBe(0);
    expect(() => compareStreamIds("x", "1-0")).toThrow();
  });
});
