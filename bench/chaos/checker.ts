// The chaos checker: a pure function over what a run collected (records.ts). Four checks, each
// with the offending ids and times when it fails; nothing here talks to a service.
import { evidenceFor, type FaultEvidence } from "./evidence.ts";
import { sumOf } from "./prom-text.ts";
import type { ChaosRecords } from "./records.ts";

export interface CheckResult {
  name: string;
  ok: boolean;
  /** One line: what was checked and how much of it. */
  summary: string;
  /** Each violation (the first MAX_PROBLEMS; `more` counts the rest). */
  problems: string[];
  more: number;
}

export interface ChaosVerdict {
  ok: boolean;
  checks: CheckResult[];
  timeline: FaultEvidence[];
}

const MAX_PROBLEMS = 25;

/**
 * Task states that count as done for an accepted task. Only `completed`: the agents never fail a
 * task on purpose (AGENT_FAIL_RATE 0) and tasks get 10 attempts, so `failed`/`dead` would mean the
 * faults cost a task all its attempts, which the suite counts as a loss.
 */
export const DONE_TASK_STATES = ["completed"];
export const DONE_RUN_STATES = ["completed"];

const iso = (t: number | null) => (t === null ? "null" : new Date(t).toISOString());

function result(name: string, summary: string, problems: string[]): CheckResult {
  return {
    name,
    ok: problems.length === 0,
    summary,
    problems: problems.slice(0, MAX_PROBLEMS),
    more: Math.max(0, problems.length - MAX_PROBLEMS),
  };
}

/** 1. Every accepted task and run is in Postgres and done; every acknowledged completion is recorded. */
export function checkNothingLost(r: ChaosRecords): CheckResult {
  const problems: string[] = [];
  const idsByKey = new Map<string, Set<string>>();
  for (const a of r.accepted) {
    const ids = idsByKey.get(a.key) ?? new Set<string>();
    ids.add(a.id);
    idsByKey.set(a.key, ids);
  }
  for (const [key, ids] of idsByKey)
    if (ids.size > 1)
      problems.push(`idempotency key ${key} was accepted as ${ids.size} ids: ${[...ids].join(", ")}`);
  const tasks = new Set<string>();
  const runs = new Set<string>();
  for (const a of r.accepted) (a.kind === "task" ? tasks : runs).add(a.id);
  const acceptedAt = new Map(r.accepted.map((a) => [a.id, a]));
  for (const id of tasks) {
    const state = r.taskStates[id];
    const a = acceptedAt.get(id);
    const when = `accepted ${iso(a?.at ?? null)} by replica ${a?.replica}`;
    if (state === undefined) problems.push(`task ${id} (${when}) is not in Postgres: LOST`);
    else if (!DONE_TASK_STATES.includes(state)) problems.push(`task ${id} (${when}) ended ${state}`);
  }
  for (const id of runs) {
    const state = r.runStates[id];
    const a = acceptedAt.get(id);
    const when = `accepted ${iso(a?.at ?? null)} by replica ${a?.replica}`;
    if (state === undefined) problems.push(`run ${id} (${when}) is not in Postgres: LOST`);
    else if (!DONE_RUN_STATES.includes(state)) problems.push(`run ${id} (${when}) ended ${state}`);
  }
  const acked = new Set(r.agentReports.filter((e) => e.event === "completed").map((e) => e.taskId));
  for (const id of acked) {
    const state = r.taskStates[id];
    if (state !== "completed")
      problems.push(
        `task ${id}: an agent got 2xx for its completion, Postgres says ${state ?? "no such task"}`,
      );
  }
  return result(
    "1. no accepted task or run lost",
    `${tasks.size} accepted tasks, ${runs.size} accepted runs, ${acked.size} agent-acknowledged completions; ` +
      `done means task ${DONE_TASK_STATES.join("/")}, run ${DONE_RUN_STATES.join("/")}; ` +
      `${r.unresolved.length} submissions never got a 2xx (not accepted, not owed)`,
    problems,
  );
}

/** 2. No task completed twice: in task_attempts, nor in the agents' own acknowledgements. */
export function checkNoDoubleCompletion(r: ChaosRecords): CheckResult {
  const problems: string[] = [];
  for (const [id, n] of Object.entries(r.completedAttempts))
    if (n > 1) problems.push(`task ${id} has ${n} attempts with outcome completed in task_attempts`);
  const byTask = new Map<string, Array<{ agent: string; at: number; lease: string }>>();
  for (const e of r.agentReports) {
    if (e.event !== "completed") continue;
    const list = byTask.get(e.taskId) ?? [];
    list.push({ agent: e.agent, at: e.at, lease: e.leaseToken });
    byTask.set(e.taskId, list);
  }
  for (const [id, list] of byTask)
    if (list.length > 1)
      problems.push(
        `task ${id} acknowledged as completed ${list.length} times: ` +
          list.map((x) => `${x.agent} lease ${x.lease} at ${iso(x.at)}`).join("; "),
      );
  return result(
    "2. none completed twice",
    `${Object.keys(r.completedAttempts).length} tasks with a completed attempt in task_attempts, ` +
      `${byTask.size} tasks in the agents' completion reports`,
    problems,
  );
}

/**
 * 3. No two leaders acting in the same epoch: each epoch has one replica (leader_terms), no term
 * acted after a later term was acquired (no slack), and no two processes reported overseer_leader 1
 * with the same epoch in their own /metrics.
 */
export function checkOneLeaderPerEpoch(r: ChaosRecords): CheckResult {
  const problems: string[] = [];
  const terms = r.leaderTerms;
  if (terms === null) {
    return result("3. one leader acting per epoch", "leader_terms not found", [
      "table leader_terms does not exist in the namespace schema (leader-fencing migration missing)",
    ]);
  }
  if (terms.length === 0) problems.push("leader_terms is empty: no leader was ever recorded");
  const byEpoch = new Map<number, string>();
  for (const t of terms) {
    const other = byEpoch.get(t.epoch);
    if (other !== undefined && other !== t.replicaId)
      problems.push(`epoch ${t.epoch} belongs to two replicas: ${other} and ${t.replicaId}`);
    byEpoch.set(t.epoch, t.replicaId);
  }
  const sorted = [...terms].sort((a, b) => a.epoch - b.epoch);
  // Earliest acquisition among all later epochs: a term must have stopped acting before it.
  let laterAcquired = Number.POSITIVE_INFINITY;
  let laterEpoch = 0;
  for (let i = sorted.length - 1; i >= 0; i--) {
    const t = sorted[i]!;
    if (t.lastActionAt !== null && t.lastActionAt > laterAcquired)
      problems.push(
        `epoch ${t.epoch} (${t.replicaId}) acted at ${iso(t.lastActionAt)}, after epoch ${laterEpoch} was acquired at ` +
          `${iso(laterAcquired)} (${t.lastActionAt - laterAcquired} ms overlap)`,
      );
    if (t.acquiredAt < laterAcquired) {
      laterAcquired = t.acquiredAt;
      laterEpoch = t.epoch;
    }
  }
  // The replicas' own view: an epoch reported as held by two processes is two leaders.
  const ids = new Map(r.incarnations.map((i) => [`${i.replica}/${i.incarnation}`, i.replicaId]));
  const holders = new Map<number, Set<string>>();
  for (const s of r.samples) {
    if (!s.up || sumOf(s.series, "overseer_leader") !== 1) continue;
    const epoch = sumOf(s.series, "overseer_leader_epoch") ?? 0;
    const set = holders.get(epoch) ?? new Set<string>();
    set.add(`${s.replica}/${s.incarnation}`);
    holders.set(epoch, set);
  }
  for (const [epoch, set] of holders) {
    if (set.size > 1)
      problems.push(`epoch ${epoch} reported as held by ${set.size} processes: ${[...set].join(", ")}`);
    for (const proc of set) {
      const replicaId = ids.get(proc);
      const owner = byEpoch.get(epoch);
      if (replicaId && owner && replicaId !== owner)
        problems.push(
          `epoch ${epoch}: process ${proc} (${replicaId}) reported it, leader_terms says ${owner}`,
        );
    }
  }
  const acting = terms.filter((t) => t.actions > 0).length;
  return result(
    "3. one leader acting per epoch",
    `${terms.length} terms in leader_terms (${acting} with fenced actions, ` +
      `${terms.reduce((s, t) => s + t.actions, 0)} actions), epochs ${sorted[0]?.epoch ?? "-"}..${sorted.at(-1)?.epoch ?? "-"}; ` +
      `${holders.size} epochs seen as overseer_leader 1 in ${r.samples.length} scrapes`,
    problems,
  );
}

/** 4. Every fault visible in the replicas' metrics. */
export function checkFaultsVisible(r: ChaosRecords, evidenceMs: number): [CheckResult, FaultEvidence[]] {
  const timeline = r.faults.map((f) => evidenceFor(f, r.samples, evidenceMs));
  const problems = timeline
    .filter((e) => !e.ok)
    .map((e) => `${e.fault.kind} on ${e.fault.target} at ${iso(e.fault.start)}: no ${e.missing}`);
  if (r.faults.length === 0) problems.push("no fault was injected");
  return [
    result(
      "4. every fault visible in the metrics",
      `${timeline.filter((e) => e.ok).length} of ${timeline.length} faults with evidence; ` +
        `${r.samples.length} scrapes (${r.samples.filter((s) => !s.up).length} failed)`,
      problems,
    ),
    timeline,
  ];
}

/**
 * 5. Redis came back with its data: the sentinel written before each SIGKILL is there after the
 * restart and the leader epoch counter did not go back (the precondition of checks 1 and 3 for
 * that fault: without the AOF, the restart is a different fault).
 */
export function checkRedisKeptData(r: ChaosRecords): CheckResult {
  const restarts = r.faults.filter((f) => f.kind === "redis-restart");
  const problems: string[] = [];
  for (const f of restarts) {
    if (!f.redis) problems.push(`redis restart at ${iso(f.start)}: nothing recorded of its data`);
    else if (!f.redis.sentinelKept)
      problems.push(`redis restart at ${iso(f.start)}: the sentinel key was lost`);
    else if (f.redis.epochAfter < f.redis.epochBefore)
      problems.push(
        `redis restart at ${iso(f.start)}: leader epoch went back from ${f.redis.epochBefore} to ${f.redis.epochAfter}`,
      );
  }
  return result(
    "5. Redis kept its data across restarts (AOF)",
    `${restarts.length} restarts: ` +
      (restarts.map((f) => `epoch ${f.redis?.epochBefore} → ${f.redis?.epochAfter}`).join(", ") || "none"),
    problems,
  );
}

/** Runs every check; `ok` only when every one passes. */
export function checkChaos(r: ChaosRecords, opts: { evidenceMs: number }): ChaosVerdict {
  const [visible, timeline] = checkFaultsVisible(r, opts.evidenceMs);
  const checks = [
    checkNothingLost(r),
    checkNoDoubleCompletion(r),
    checkOneLeaderPerEpoch(r),
    visible,
    checkRedisKeptData(r),
  ];
  return { ok: checks.every((c) => c.ok), checks, timeline };
}
