import { describe, expect, it } from "vitest";
import {
  checkChaos,
  checkNoDoubleCompletion,
  checkNothingLost,
  checkOneLeaderPerEpoch,
  checkRedisKeptData,
} from "../../bench/chaos/checker.ts";
import { buildTimeline, chaosConfig, FAULT_KINDS } from "../../bench/chaos/config.ts";
import { evidenceFor } from "../../bench/chaos/evidence.ts";
import { parseKept, sumOf } from "../../bench/chaos/prom-text.ts";
import type { ChaosRecords, FaultRecord, LeaderTerm, Sample } from "../../bench/chaos/records.ts";
import { deathLines } from "../../bench/chaos/report.ts";

const T0 = Date.parse("2026-11-24T08:00:00.000Z");
const at = (s: number) => T0 + s * 1000;

function sample(
  replica: number,
  s: number,
  series: Record<string, number>,
  incarnation = 0,
  up = true,
): Sample {
  return { t: at(s), replica, incarnation, up, series: up ? series : {} };
}

const term = (epoch: number, replicaId: string, acquired: number, last: number | null): LeaderTerm => ({
  epoch,
  replicaId,
  acquiredAt: at(acquired),
  actions: last === null ? 0 : 5,
  firstActionAt: last === null ? null : at(acquired),
  lastActionAt: last === null ? null : at(last),
});

/** A run where nothing went wrong: two tasks, one run, two leaders one after the other. */
function cleanRecords(): ChaosRecords {
  return {
    loadStart: T0,
    accepted: [
      { kind: "task", key: "chaos-task-1", id: "t1", at: at(1), replica: 0, tries: 1, deduplicated: false },
      { kind: "task", key: "chaos-task-2", id: "t2", at: at(2), replica: 1, tries: 3, deduplicated: true },
      { kind: "run", key: "chaos-run-1", id: "r1", at: at(2), replica: 2, tries: 1, deduplicated: false },
    ],
    unresolved: [],
    deaths: [],
    taskStates: { t1: "completed", t2: "completed", s1: "completed" },
    runStates: { r1: "completed" },
    completedAttempts: { t1: 1, t2: 1, s1: 1 },
    agentReports: [
      { event: "completed", taskId: "t1", leaseToken: "1", at: at(3), agent: "w1" },
      { event: "lost", taskId: "t2", leaseToken: "2", at: at(3), agent: "w1" },
      { event: "completed", taskId: "t2", leaseToken: "3", at: at(4), agent: "w2" },
      { event: "completed", taskId: "s1", leaseToken: "4", at: at(4), agent: "p1" },
    ],
    leaderTerms: [term(1, "A", 0, 10), term(2, "B", 12, 30)],
    faults: [],
    processEvents: [],
    samples: [
      sample(0, 5, { overseer_leader: 1, overseer_leader_epoch: 1 }),
      sample(1, 5, { overseer_leader: 0, overseer_leader_epoch: 0 }),
      sample(1, 13, { overseer_leader: 1, overseer_leader_epoch: 2 }),
    ],
    incarnations: [
      { replica: 0, incarnation: 0, replicaId: "A", startedAt: T0 },
      { replica: 1, incarnation: 0, replicaId: "B", startedAt: T0 },
    ],
  };
}

describe("chaos checker", () => {
  it("passes a run where every accepted item completed once under one leader per epoch", () => {
    const v = checkChaos(cleanRecords(), { evidenceMs: 10_000 });
    // No fault injected: check 4 says so; the other three pass.
    expect(v.checks.slice(0, 3).map((c) => [c.name, c.ok, c.problems])).toEqual([
      ["1. no accepted task or run lost", true, []],
      ["2. none completed twice", true, []],
      ["3. one leader acting per epoch", true, []],
    ]);
    expect(v.checks[3]?.problems).toEqual(["no fault was injected"]);
    expect(v.checks[4]).toMatchObject({ name: "5. Redis kept its data across restarts (AOF)", ok: true });
    expect(v.ok).toBe(false);
  });

  it("1: a task missing from Postgres is LOST, a dead task or an unfinished run is not done", () => {
    const r = cleanRecords();
    delete r.taskStates["t1"];
    r.taskStates["t2"] = "dead";
    r.runStates["r1"] = "running";
    const c = checkNothingLost(r);
    expect(c.ok).toBe(false);
    expect(c.problems).toEqual([
      "task t1 (accepted 2026-11-24T08:00:01.000Z by replica 0) is not in Postgres: LOST",
      "task t2 (accepted 2026-11-24T08:00:02.000Z by replica 1) ended dead",
      "run r1 (accepted 2026-11-24T08:00:02.000Z by replica 2) ended running",
      "task t1: an agent got 2xx for its completion, Postgres says no such task",
      "task t2: an agent got 2xx for its completion, Postgres says dead",
    ]);
  });

  it("1: one idempotency key accepted as two ids is a duplicate submission", () => {
    const r = cleanRecords();
    r.accepted.push({
      kind: "task",
      key: "chaos-task-1",
      id: "t9",
      at: at(5),
      replica: 2,
      tries: 2,
      deduplicated: false,
    });
    r.taskStates["t9"] = "completed";
    expect(checkNothingLost(r).problems).toEqual([
      "idempotency key chaos-task-1 was accepted as 2 ids: t1, t9",
    ]);
  });

  it("1: submissions never accepted are reported but not owed", () => {
    const r = cleanRecords();
    r.unresolved.push({ kind: "task", key: "chaos-task-3", at: at(9), tries: 12, error: "HTTP 503" });
    const c = checkNothingLost(r);
    expect(c.ok).toBe(true);
    expect(c.summary).toContain("1 submissions never got a 2xx");
  });

  it("2: two completed attempts, or two acknowledged completions, fail", () => {
    const r = cleanRecords();
    r.completedAttempts["t1"] = 2;
    r.agentReports.push({ event: "completed", taskId: "t1", leaseToken: "7", at: at(6), agent: "w3" });
    const c = checkNoDoubleCompletion(r);
    expect(c.ok).toBe(false);
    expect(c.problems[0]).toBe("task t1 has 2 attempts with outcome completed in task_attempts");
    expect(c.problems[1]).toMatch(
      /^task t1 acknowledged as completed 2 times: w1 lease 1 at .*; w3 lease 7 at /,
    );
  });

  it("3: a missing leader_terms table fails the check", () => {
    const r = cleanRecords();
    r.leaderTerms = null;
    expect(checkOneLeaderPerEpoch(r).ok).toBe(false);
  });

  it("3: a term acting after the next term was acquired fails, with no slack", () => {
    const r = cleanRecords();
    r.leaderTerms = [term(1, "A", 0, 12.001), term(2, "B", 12, 30)];
    const c = checkOneLeaderPerEpoch(r);
    expect(c.problems).toEqual([
      "epoch 1 (A) acted at 2026-11-24T08:00:12.001Z, after epoch 2 was acquired at 2026-11-24T08:00:12.000Z (1 ms overlap)",
    ]);
    // Acting exactly at the acquisition instant is not after it.
    r.leaderTerms = [term(1, "A", 0, 12), term(2, "B", 12, 30)];
    expect(checkOneLeaderPerEpoch(r).ok).toBe(true);
  });

  it("3: the overlap is checked against every later term, and terms without actions are fine", () => {
    const r = cleanRecords();
    // Epoch 2 never acted; epoch 1's last action falls after epoch 2's acquisition but before 3's.
    r.leaderTerms = [term(1, "A", 0, 15), term(2, "B", 12, null), term(3, "C", 20, 40)];
    expect(checkOneLeaderPerEpoch(r).problems).toEqual([
      "epoch 1 (A) acted at 2026-11-24T08:00:15.000Z, after epoch 2 was acquired at 2026-11-24T08:00:12.000Z (3000 ms overlap)",
    ]);
  });

  it("5: a Redis restart that lost the sentinel or moved the leader epoch back fails", () => {
    const r = cleanRecords();
    const restart = (redis: FaultRecord["redis"]): FaultRecord => ({
      kind: "redis-restart",
      target: "redis",
      start: at(10),
      end: at(13),
      ...(redis ? { redis } : {}),
    });
    r.faults = [restart({ sentinelKept: true, epochBefore: 3, epochAfter: 3 })];
    expect(checkRedisKeptData(r)).toMatchObject({ ok: true, summary: "1 restarts: epoch 3 → 3" });
    r.faults = [
      restart({ sentinelKept: false, epochBefore: 3, epochAfter: 3 }),
      restart({ sentinelKept: true, epochBefore: 3, epochAfter: 1 }),
      restart(undefined),
    ];
    expect(checkRedisKeptData(r).problems).toEqual([
      "redis restart at 2026-11-24T08:00:10.000Z: the sentinel key was lost",
      "redis restart at 2026-11-24T08:00:10.000Z: leader epoch went back from 3 to 1",
      "redis restart at 2026-11-24T08:00:10.000Z: nothing recorded of its data",
    ]);
  });

  it("3: two processes reporting overseer_leader 1 in the same epoch fail", () => {
    const r = cleanRecords();
    r.samples.push(sample(2, 6, { overseer_leader: 1, overseer_leader_epoch: 1 }));
    r.incarnations.push({ replica: 2, incarnation: 0, replicaId: "C", startedAt: T0 });
    expect(checkOneLeaderPerEpoch(r).problems).toEqual([
      "epoch 1 reported as held by 2 processes: 0/0, 2/0",
      "epoch 1: process 2/0 (C) reported it, leader_terms says A",
    ]);
  });
});

describe("fault evidence", () => {
  const fault = (kind: FaultRecord["kind"], start: number, end: number, extra: Partial<FaultRecord> = {}) =>
    ({ kind, target: "x", start: at(start), end: at(end), ...extra }) as FaultRecord;

  it("agent kill: the dead-transition counter rising on a replica", () => {
    const dead = (n: number) => ({ 'overseer_agent_transitions_total{from="stale",to="dead"}': n });
    const samples = [sample(0, 9, dead(2)), sample(0, 11, dead(2)), sample(0, 14, dead(3))];
    const e = evidenceFor(fault("agent-kill", 10, 10), samples, 10_000);
    expect(e.ok).toBe(true);
    expect(e.evidence[0]).toMatchObject({ replica: 0, at: at(14), required: true });
    expect(evidenceFor(fault("agent-kill", 10, 10), samples.slice(0, 2), 10_000)).toMatchObject({
      ok: false,
    });
  });

  it("a counter of a restarted process is compared with its own start, not the old process", () => {
    const dead = (n: number) => ({ 'overseer_agent_transitions_total{from="stale",to="dead"}': n });
    // The old process had 5; the new one (incarnation 1) starts below it: no rise.
    const samples = [sample(0, 9, dead(5)), sample(0, 12, dead(0), 1), sample(0, 13, dead(0), 1)];
    expect(evidenceFor(fault("agent-kill", 10, 10), samples, 10_000).ok).toBe(false);
  });

  it("leader kill: a higher epoch on another replica; the dead leader's own numbers do not count", () => {
    const samples = [
      sample(0, 9, { overseer_leader: 1, overseer_leader_epoch: 4 }),
      sample(0, 11, {}, 0, false),
      sample(1, 13, { overseer_leader: 1, overseer_leader_epoch: 5 }),
    ];
    const e = evidenceFor(fault("leader-kill", 10, 20, { replica: 0, wasLeader: true }), samples, 5000);
    expect(e.ok).toBe(true);
    expect(e.evidence.map((x) => [x.metric, x.replica, x.required])).toEqual([
      ["overseer_leader = 1 with overseer_leader_epoch > 4 on another replica", 1, true],
      ["up = 0 (scrape of replica 0 failed)", 0, false],
    ]);
    const own = [samples[0]!, sample(0, 13, { overseer_leader: 1, overseer_leader_epoch: 5 })];
    expect(evidenceFor(fault("leader-kill", 10, 20, { replica: 0, wasLeader: true }), own, 5000).ok).toBe(
      false,
    );
  });

  it("leader pause: overseer_leader_changes_total rising on another replica", () => {
    const changes = (n: number) => ({ 'overseer_leader_changes_total{change="acquired"}': n });
    const samples = [sample(1, 9, changes(1)), sample(1, 14, changes(2))];
    const e = evidenceFor(fault("leader-pause", 10, 16, { replica: 0, wasLeader: true }), samples, 5000);
    expect(e.ok).toBe(true);
  });

  it("replica kill: a failed scrape of that replica between kill and restart", () => {
    const samples = [sample(2, 11, {}, 0, false), sample(1, 12, {}, 0, false)];
    expect(evidenceFor(fault("replica-kill", 10, 20, { replica: 2 }), samples, 5000).ok).toBe(true);
    expect(evidenceFor(fault("replica-kill", 10, 20, { replica: 0 }), samples, 5000).ok).toBe(false);
  });

  it("redis restart and postgres stop: overseer_dependency_up 0 for that dependency", () => {
    const down = (dep: string) => ({ [`overseer_dependency_up{dependency="${dep}"}`]: 0 });
    expect(evidenceFor(fault("redis-restart", 10, 13), [sample(1, 12, down("redis"))], 5000).ok).toBe(true);
    expect(evidenceFor(fault("postgres-stop", 10, 40), [sample(1, 12, down("redis"))], 5000).ok).toBe(false);
    expect(evidenceFor(fault("postgres-stop", 10, 40), [sample(1, 44, down("postgres"))], 5000).ok).toBe(
      true,
    );
    // Outside the window [start, end + evidenceMs] it is not this fault's evidence.
    expect(evidenceFor(fault("postgres-stop", 10, 40), [sample(1, 46, down("postgres"))], 5000).ok).toBe(
      false,
    );
  });
});

describe("agent deaths in the chaos report", () => {
  it("tells crashed agents from live ones cut off past the session grace, with the attempts they lost", () => {
    const fault: FaultRecord = {
      kind: "agent-kill",
      target: "agents chaos-worker-1, chaos-pipeline-1",
      start: at(10),
      end: at(11),
    };
    const lines = deathLines({
      faults: [fault],
      deaths: [
        { agentId: "a1", name: "chaos-worker-1", cause: "disconnect", lostAttempts: 4 },
        { agentId: "a2", name: "chaos-pipeline-1", cause: "disconnect", lostAttempts: 1 },
        { agentId: "a3", name: "chaos-worker-2", cause: "disconnect", lostAttempts: 3 },
        { agentId: "a4", name: "chaos-worker-3", cause: "heartbeat", lostAttempts: 2 },
      ],
    });
    expect(lines).toEqual([
      "by disconnect, agents the run SIGKILLed: 2 (their 5 lost attempts ran again)",
      "by disconnect, live agents cut off past the grace: 1, duplicate attempts they caused: 3",
      "by heartbeat deadline: 1 (2 lost attempts)",
    ]);
  });
});

describe("chaos plumbing", () => {
  it("keeps only the checker's series from a scrape and sums them by label", () => {
    const text = [
      "# HELP overseer_agents Agents",
      'overseer_agents{state="dead",role="worker"} 3',
      'overseer_agents{state="dead",role="classifier"} 1',
      'overseer_agents{state="active",role="worker"} 4',
      "overseer_leader 1",
      "process_cpu_seconds_total 12",
    ].join("\n");
    const s = parseKept(text);
    expect(Object.keys(s)).toHaveLength(4);
    expect(sumOf(s, "overseer_agents", { state: "dead" })).toBe(4);
    expect(sumOf(s, "overseer_leader")).toBe(1);
    expect(sumOf(s, "overseer_leader_epoch")).toBeUndefined();
  });

  it("plans every fault kind each round, in order, inside the load", () => {
    const c = chaosConfig({ CHAOS_MINUTES: "4", CHAOS_ROUNDS: "2" });
    const plan = buildTimeline(c);
    expect(plan.map((p) => p.kind)).toEqual([...FAULT_KINDS, ...FAULT_KINDS]);
    for (let i = 1; i < plan.length; i++) expect(plan[i]!.atMs).toBeGreaterThan(plan[i - 1]!.atMs);
    expect(plan.at(-1)!.atMs).toBeLessThan(c.loadMs);
    expect(c.pauseMs).toBeGreaterThan(c.leaseMs);
    expect(() => chaosConfig({ CHAOS_PAUSE_MS: "1000", CHAOS_LEASE_MS: "2000" })).toThrow(/CHAOS_PAUSE_MS/);
  });
});
