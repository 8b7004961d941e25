import { describe, expect, it } from "vitest";
import type { OverseerEvent } from "../../daemon/events/catalogue.ts";
import { EventBus } from "../../daemon/events/event-bus.ts";
import { currentTerm } from "../../daemon/leader/fence-context.ts";
import { type FenceStore, LeaderElection, type TermActions } from "../../daemon/leader/leader-election.ts";
import type { LeaderLease, LeaseAnswer } from "../../daemon/store/redis/leader-lease.ts";

// The election's decisions with a scripted lease and fence and an injected monotonic clock.

const TTL = 1_000;

function setup(answers: Array<LeaseAnswer | Error>, install: boolean[] = [true]) {
  let now = 0;
  const released: number[] = [];
  const floors: number[] = [];
  const lease = {
    replicaId: "r1",
    ttlMs: TTL,
    async tryAcquire(floor: number) {
      floors.push(floor);
      const next = answers.shift();
      if (!next) throw new Error("no scripted answer");
      if (next instanceof Error) throw next;
      return next;
    },
    async release(epoch: number) {
      released.push(epoch);
    },
  } as unknown as LeaderLease;
  const recorded: TermActions[] = [];
  const fence: FenceStore = {
    floor: async () => 7,
    install: async () => install.shift() ?? true,
    recordActions: async (stats) => {
      recorded.push({ ...stats });
    },
  };
  const bus = new EventBus(() => now);
  const events: string[] = [];
  bus.subscribe((e: OverseerEvent) => {
    const { type, at: _at, ...payload } = e;
    if (type.startsWith("leader.")) events.push(`${type}:${JSON.stringify(payload)}`);
  });
  const election = new LeaderElection(
    lease,
    fence,
    bus,
    () => {},
    () => now,
  );
  return {
    election,
    events,
    released,
    floors,
    recorded,
    advance(ms: number) {
      now += ms;
    },
  };
}

describe("LeaderElection", () => {
  it("a follower polls every third of the lease, and asks again right as the holder's lease expires", async () => {
    const s = setup([
      { epoch: 0, heldByOtherForMs: 900 },
      { epoch: 0, heldByOtherForMs: 240 },
    ]);
    expect(await s.election.tick()).toBe(333);
    expect(await s.election.tick()).toBe(245);
    expect(s.floors).toEqual([7, 7]);
    expect(s.election.isLeader()).toBe(false);
  });

  it("leads once the lease is held and the epoch installed; renews every third of the lease", async () => {
    const s = setup([
      { epoch: 8, heldByOtherForMs: 0 },
      { epoch: 8, heldByOtherForMs: 0 },
    ]);
    expect(await s.election.tick()).toBe(333);
    expect(s.election.isLeader()).toBe(true);
    expect(s.election.currentEpoch()).toBe(8);
    await s.election.tick();
    expect(s.floors).toEqual([7, 0]);
    expect(s.events).toEqual(['leader.acquired:{"epoch":8}']);
  });

  it("a pause past the lease time stops it acting before its next tick", async () => {
    const s = setup([{ epoch: 8, heldByOtherForMs: 0 }]);
    await s.election.tick();
    s.advance(TTL - 1);
    expect(s.election.isLeader()).toBe(true);
    s.advance(1);
    expect(s.election.isLeader()).toBe(false);
    let ran = false;
    await s.election.asLeader(async () => {
      ran = true;
    });
    expect(ran).toBe(false);
    expect(s.events.at(-1)).toBe('leader.lost:{"epoch":8,"reason":"expired_locally"}');
  });

  it("runs a leader pass in its term's context, and nothing on a follower", async () => {
    const s = setup([{ epoch: 9, heldByOtherForMs: 0 }]);
    let seen: unknown = null;
    await s.election.asLeader(async () => {
      seen = "follower ran";
    });
    expect(seen).toBeNull();
    await s.election.tick();
    await s.election.asLeader(async () => {
      seen = currentTerm();
    });
    expect(seen).toMatchObject({ epoch: 9, replicaId: "r1", idleTimeoutMs: TTL });
    expect(currentTerm()).toBeUndefined();
  });

  it("steps down when the lease is lost, when Redis fails, and when the fence refuses a write", async () => {
    const s = setup([
      { epoch: 8, heldByOtherForMs: 0 },
      { epoch: 0, heldByOtherForMs: 900 },
      { epoch: 10, heldByOtherForMs: 0 },
      new Error("redis down"),
      { epoch: 11, heldByOtherForMs: 0 },
    ]);
    await s.election.tick();
    expect(await s.election.tick()).toBe(333);
    await s.election.tick();
    await expect(s.election.tick()).rejects.toThrow("redis down");
    await s.election.tick();
    await s.election.asLeader(async () => {
      currentTerm()?.onFenced(
        Object.assign(new Error("fenced"), { name: "FencedError", epoch: 11 }) as never,
      );
    });
    expect(s.election.isLeader()).toBe(false);
    expect(s.events).toEqual([
      'leader.acquired:{"epoch":8}',
      'leader.lost:{"epoch":8,"reason":"lease_lost"}',
      'leader.acquired:{"epoch":10}',
      'leader.lost:{"epoch":10,"reason":"redis_error"}',
      'leader.acquired:{"epoch":11}',
      'leader.fenced:{"epoch":11}',
      'leader.lost:{"epoch":11,"reason":"fenced"}',
    ]);
  });

  it("a lease the fence refuses (a newer epoch is installed) is released, and the replica follows", async () => {
    const s = setup([{ epoch: 5, heldByOtherForMs: 0 }], [false]);
    await s.election.tick();
    expect(s.election.isLeader()).toBe(false);
    expect(s.released).toEqual([5]);
    expect(s.events).toEqual([]);
  });

  it("counts the term's fenced transactions and adds them to its row at the next renewal", async () => {
    const s = setup([
      { epoch: 4, heldByOtherForMs: 0 },
      { epoch: 4, heldByOtherForMs: 0 },
    ]);
    await s.election.tick();
    const t1 = new Date(1_000);
    const t2 = new Date(3_000);
    await s.election.asLeader(async () => {
      currentTerm()?.onAction(t2);
      currentTerm()?.onAction(t1);
    });
    expect(s.recorded).toEqual([]);
    await s.election.tick();
    expect(s.recorded).toEqual([{ epoch: 4, replicaId: "r1", actions: 2, firstAt: t1, lastAt: t2 }]);
  });
});
