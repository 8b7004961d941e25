import { describe, expect, it } from "vitest";
import type { CanaryResult } from "../../contract/schemas/system.ts";
import type { OverseerEvent } from "../../daemon/events/catalogue.ts";
import { EventBus } from "../../daemon/events/event-bus.ts";
import { CanaryProbe, type CanaryTaskSeen, type CanaryTasksPort } from "../../probes/canary-probe.ts";

// The canary's loop body over fake ports: what it submits, cancels and records, tick by tick.

/** Tasks as a fake Postgres holds them; ages move with the test clock. */
function fakeTasks(clock: { now: number }, roles: string[]) {
  const rows = new Map<
    string,
    { type: string; state: string; createdAt: number; finishedAt: number | null }
  >();
  const submitted: Array<Parameters<CanaryTasksPort["submit"]>[0]> = [];
  const cancelled: Array<{ taskId: string; reason: string }> = [];
  let n = 0;
  const seen = (taskId: string): CanaryTaskSeen => {
    const r = rows.get(taskId)!;
    return {
      taskId,
      type: r.type,
      state: r.state,
      ageMs: clock.now - r.createdAt,
      durationMs: r.finishedAt === null ? null : r.finishedAt - r.createdAt,
    };
  };
  const port: CanaryTasksPort = {
    probedRoles: async (_windowMs, limit) => roles.slice(0, limit),
    openCanaries: async (limit) =>
      [...rows.entries()]
        .filter(([, r]) => r.state === "queued" || r.state === "active")
        .map(([id]) => seen(id))
        .slice(0, limit),
    tasks: async (ids) => ids.filter((id) => rows.has(id)).map(seen),
    submit: async (input) => {
      submitted.push(input);
      const id = `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}`;
      rows.set(id, { type: input.type, state: "queued", createdAt: clock.now, finishedAt: null });
      return id;
    },
    cancel: async (taskId, reason) => {
      cancelled.push({ taskId, reason });
      const r = rows.get(taskId);
      if (r && (r.state === "queued" || r.state === "active")) r.state = "cancelled";
    },
  };
  return { port, rows, submitted, cancelled };
}

function probe(roles: string[], leader = { is: true }) {
  const clock = { now: 1_000_000 };
  const tasks = fakeTasks(clock, roles);
  const recorded: CanaryResult[] = [];
  const events: OverseerEvent[] = [];
  const bus = new EventBus(() => clock.now);
  bus.subscribe((e) => events.push(e));
  const canary = new CanaryProbe(tasks.port, { record: async (r) => void recorded.push(r) }, bus, {
    intervalMs: 1_000,
    timeoutMs: 500,
    isLeader: () => leader.is,
    now: () => clock.now,
    newNonce: () => "nonce",
  });
  return { canary, clock, tasks, recorded, events, leader };
}

describe("CanaryProbe over its ports", () => {
  it("launches one canary per role, records a success with its duration, then waits out the interval", async () => {
    const p = probe(["scout"]);
    await p.canary.tick();
    expect(p.tasks.submitted).toEqual([
      {
        type: "overseer.canary.scout",
        payload: { canary: true, role: "scout", nonce: "nonce" },
        priority: 1_000,
        maxAttempts: 1,
        timeoutMs: 500,
      },
    ]);
    const [id] = [...p.tasks.rows.keys()];
    const row = p.tasks.rows.get(id!)!;
    p.clock.now += 120;
    Object.assign(row, { state: "completed", finishedAt: p.clock.now });
    await p.canary.tick();
    expect(p.recorded).toEqual([
      {
        role: "scout",
        outcome: "success",
        durationMs: 120,
        detail: "answered",
        taskId: id,
        at: new Date(p.clock.now).toISOString(),
      },
    ]);
    expect(p.events.filter((e) => e.type === "probe.completed")).toHaveLength(1);
    await p.canary.tick();
    expect(p.tasks.submitted).toHaveLength(1);
  });

  it("adopts the canary a previous leader left, cancels any duplicate, and cancels it on timeout", async () => {
    const p = probe(["scout"]);
    const older = await p.tasks.port.submit({
      type: "overseer.canary.scout",
      payload: {},
      priority: 1_000,
      maxAttempts: 1,
      timeoutMs: 500,
    });
    p.clock.now += 10;
    const duplicate = await p.tasks.port.submit({
      type: "overseer.canary.scout",
      payload: {},
      priority: 1_000,
      maxAttempts: 1,
      timeoutMs: 500,
    });
    await p.canary.tick();
    expect(p.tasks.cancelled).toEqual([{ taskId: duplicate, reason: "duplicate canary" }]);
    expect(p.tasks.submitted).toHaveLength(2);
    p.clock.now += 600;
    await p.canary.tick();
    expect(p.tasks.cancelled[1]).toEqual({
      taskId: older,
      reason: "canary timed out: no agent claimed it within 500 ms",
    });
    expect(p.recorded).toMatchObject([{ role: "scout", outcome: "timeout", taskId: older, durationMs: 610 }]);
  });

  it("a follower launches nothing and forgets what it tracked", async () => {
    const p = probe(["scout"], { is: false });
    await p.canary.tick();
    expect(p.tasks.submitted).toEqual([]);
    p.leader.is = true;
    await p.canary.tick();
    expect(p.tasks.submitted).toHaveLength(1);
    p.leader.is = false;
    await p.canary.tick();
    p.leader.is = true;
    p.clock.now += 100;
    // The new term adopts the open canary instead of stacking another.
    await p.canary.tick();
    expect(p.tasks.submitted).toHaveLength(1);
  });

  it("skips roles whose canary type would not be a valid task type", async () => {
    const p = probe(["ok-role", "bad role!"]);
    await p.canary.tick();
    expect(p.tasks.submitted.map((s) => s.type)).toEqual(["overseer.canary.ok-role"]);
  });
});
