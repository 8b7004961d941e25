import { describe, expect, it } from "vitest";
import { MAX_PRIORITY } from "../../contract/schemas/common.ts";
import {
  dispatchedBefore,
  dispatchRank,
  LEGACY_RANKS,
  laneAfter,
  laneOfRank,
  type WaitingTask,
} from "../../daemon/tasks/dispatch-order.ts";

const BULLMQ_MAX_PRIORITY = 2 ** 21;

describe("dispatch order (rescue goes first)", () => {
  it("a task whose lease was revoked is rescued; one that failed, completed or was cancelled is not", () => {
    expect(laneAfter("lost")).toBe("rescue");
    expect(laneAfter("timed_out")).toBe("rescue");
    expect(laneAfter("released")).toBe("rescue");
    expect(laneAfter("failed")).toBe("fresh");
    expect(laneAfter("completed")).toBe("fresh");
  });

  it("a rescued task goes ahead of the fresh tasks of its priority queued after it was first queued", () => {
    const rescued: WaitingTask = { priority: 5, lane: "rescue", queuedAt: 2_000 };
    const newer: WaitingTask = { priority: 5, lane: "fresh", queuedAt: 1_500 };
    expect(dispatchedBefore(rescued, newer)).toBe(true);
    expect(dispatchedBefore(newer, rescued)).toBe(false);
  });

  it("priority still decides first: higher priority before a rescued task, a rescued one before lower", () => {
    const rescued: WaitingTask = { priority: 5, lane: "rescue", queuedAt: 0 };
    expect(dispatchedBefore({ priority: 6, lane: "fresh", queuedAt: 9 }, rescued)).toBe(true);
    expect(dispatchedBefore(rescued, { priority: 4, lane: "rescue", queuedAt: -1 })).toBe(true);
    expect(dispatchedBefore({ priority: MAX_PRIORITY, lane: "fresh", queuedAt: 9 }, rescued)).toBe(true);
  });

  it("FIFO within a lane of one priority", () => {
    const a: WaitingTask = { priority: 0, lane: "rescue", queuedAt: 1 };
    const b: WaitingTask = { priority: 0, lane: "rescue", queuedAt: 2 };
    expect(dispatchedBefore(a, b)).toBe(true);
    expect(dispatchedBefore(b, a)).toBe(false);
  });

  it("ranks fit BullMQ (1..2^21, lower first), keep every priority's two lanes adjacent, and give the lane back", () => {
    const ranks: number[] = [];
    for (let p = MAX_PRIORITY; p >= 0; p--) {
      for (const lane of ["rescue", "fresh"] as const) {
        const rank = dispatchRank(p, lane);
        expect(rank).toBeGreaterThanOrEqual(1);
        expect(rank).toBeLessThanOrEqual(BULLMQ_MAX_PRIORITY);
        expect(laneOfRank(rank)).toBe(lane);
        ranks.push(rank);
      }
    }
    // Highest priority's rescue lane first, lowest priority's fresh lane last, no gaps or repeats,
    // all above the ranks older daemons gave (1001 − priority).
    expect(ranks).toEqual(ranks.map((_, i) => LEGACY_RANKS + 1 + i));
  });

  it("a job an older daemon queued (rank 1001 − priority) goes before every new one and counts as fresh", () => {
    for (const p of [0, 500, MAX_PRIORITY]) {
      const legacy = MAX_PRIORITY + 1 - p;
      expect(legacy).toBeLessThanOrEqual(LEGACY_RANKS);
      expect(legacy).toBeLessThan(dispatchRank(MAX_PRIORITY, "rescue"));
      expect(laneOfRank(legacy)).toBe("fresh");
    }
  });

  it("sorting a mixed backlog: priority, then rescued, then queue order", () => {
    const tasks: Array<WaitingTask & { name: string }> = [
      { name: "fresh-p0-1", priority: 0, lane: "fresh", queuedAt: 1 },
      { name: "fresh-p0-2", priority: 0, lane: "fresh", queuedAt: 2 },
      { name: "fresh-p9", priority: 9, lane: "fresh", queuedAt: 3 },
      { name: "rescued-p0", priority: 0, lane: "rescue", queuedAt: 4 },
      { name: "rescued-p9", priority: 9, lane: "rescue", queuedAt: 5 },
    ];
    const order = [...tasks]
      .sort((a, b) => (dispatchedBefore(a, b) ? -1 : dispatchedBefore(b, a) ? 1 : 0))
      .map((t) => t.name);
    expect(order).toEqual(["rescued-p9", "fresh-p9", "rescued-p0", "fresh-p0-1", "fresh-p0-2"]);
  });
});
