import { describe, expect, it } from "vitest";
import { OverrideGate } from "../../daemon/overrides/override-gate.ts";
import {
  conflictsWithActive,
  expiryOf,
  flagsOf,
  isLasting,
  MAX_OVERRIDE_EXPIRY_MS,
  undoRefusal,
} from "../../daemon/overrides/override-rules.ts";

const NOW = new Date("2026-01-01T00:00:00Z");

describe("override rules", () => {
  it("treats restart_all_agents as one-shot and the others as lasting", () => {
    expect(isLasting("restart_all_agents")).toBe(false);
    for (const a of ["stop_all_tasks", "clear_task_queue", "system_maintenance"] as const)
      expect(isLasting(a)).toBe(true);
  });

  it("computes expiries and refuses unusable ones", () => {
    expect(expiryOf("stop_all_tasks", undefined, NOW)).toEqual({ expiresAt: null });
    expect(expiryOf("stop_all_tasks", 60_000, NOW)).toEqual({ expiresAt: new Date(NOW.getTime() + 60_000) });
    expect(expiryOf("stop_all_tasks", 999, NOW)).toHaveProperty("problem");
    expect(expiryOf("stop_all_tasks", MAX_OVERRIDE_EXPIRY_MS + 1, NOW)).toHaveProperty("problem");
    expect(expiryOf("stop_all_tasks", 1_500.5, NOW)).toHaveProperty("problem");
    expect(expiryOf("restart_all_agents", 60_000, NOW)).toHaveProperty("problem");
  });

  it("allows undo only of an active override, and says why otherwise", () => {
    expect(undoRefusal({ action: "stop_all_tasks", state: "active" })).toBeNull();
    expect(undoRefusal({ action: "restart_all_agents", state: "done" })).toContain("one-shot");
    expect(undoRefusal({ action: "stop_all_tasks", state: "expired" })).toContain("expired");
    expect(undoRefusal({ action: "stop_all_tasks", state: "undone" })).toContain("undone");
  });

  it("refuses a second pause or maintenance while one is active, but not a second clear", () => {
    expect(conflictsWithActive("stop_all_tasks", [{ action: "stop_all_tasks" }])).toBe(true);
    expect(conflictsWithActive("system_maintenance", [{ action: "stop_all_tasks" }])).toBe(false);
    expect(conflictsWithActive("clear_task_queue", [{ action: "clear_task_queue" }])).toBe(false);
    expect(conflictsWithActive("restart_all_agents", [{ action: "restart_all_agents" }])).toBe(false);
    expect(flagsOf([{ action: "system_maintenance" }])).toEqual({ dispatchPaused: false, maintenance: true });
  });
});

describe("override gate", () => {
  it("answers from memory and reads the store at most once per max age", async () => {
    let now = 0;
    let reads = 0;
    let active: Array<{ action: string; expiresAt: Date | null }> = [];
    const counts: Array<Record<string, number>> = [];
    const gate = new OverrideGate(
      async () => {
        reads++;
        return active;
      },
      (c) => counts.push(c),
      () => {},
      () => now,
      1_000,
    );
    await gate.refresh();
    expect(gate.dispatchPaused()).toBe(false);
    active = [{ action: "stop_all_tasks", expiresAt: null }];
    for (let i = 0; i < 100; i++) gate.dispatchPaused();
    expect(reads).toBe(1);
    now = 1_000;
    gate.dispatchPaused();
    await new Promise((r) => setImmediate(r));
    expect(reads).toBe(2);
    expect(gate.dispatchPaused()).toBe(true);
    expect(counts.at(-1)).toMatchObject({ stop_all_tasks: 1, system_maintenance: 0 });
  });

  it("keeps the last flags when the store cannot be read, and reports the error", async () => {
    let fail = false;
    const errors: unknown[] = [];
    const gate = new OverrideGate(
      async () => {
        if (fail) throw new Error("postgres down");
        return [{ action: "system_maintenance", expiresAt: new Date(30_500) }];
      },
      () => {},
      (e) => errors.push(e),
      () => 0,
    );
    await gate.refresh();
    expect(gate.retryAfterSeconds()).toBe(31);
    fail = true;
    await gate.refresh();
    expect(gate.maintenance()).toBe(true);
    expect(errors).toHaveLength(1);
  });
});
