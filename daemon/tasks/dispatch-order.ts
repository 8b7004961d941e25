// The order in which queued tasks of one type are handed out (docs/architecture.md "Dispatch
// order"). Pure: the queue adapter turns it into BullMQ priorities, the tests check the rule.
import { MAX_PRIORITY } from "../../contract/schemas/common.ts";
import type { AttemptOutcome } from "./task-state.ts";

/**
 * `fresh`: queued for the first time (submitted, a pipeline step, an operator retry, an override's
 * restore). `rescue`: queued again because its lease was revoked (dead agent, lease timeout,
 * release): it already waited its turn once, so it goes ahead of every fresh task of its priority.
 */
export type DispatchLane = "fresh" | "rescue";

/** Attempt outcomes after which the task is rescued: its lease was taken away, not given up by a failure. */
const RESCUED_AFTER: readonly AttemptOutcome[] = ["lost", "timed_out", "released"];

export function laneAfter(outcome: AttemptOutcome): DispatchLane {
  return RESCUED_AFTER.includes(outcome) ? "rescue" : "fresh";
}

/**
 * BullMQ priorities 1..1001 are those daemons gave before the rescue lane (1001 − priority). Ours
 * start above them, so a job such a daemon queued (before an upgrade, or by an older replica during
 * a rolling one) is handed out before every job queued since, in its old order, instead of being
 * interleaved with the new ranks by number.
 */
export const LEGACY_RANKS = MAX_PRIORITY + 1;

/**
 * The BullMQ priority (1..2^21, lower first; FIFO among equals) of a task with API priority
 * `priority` (0..MAX_PRIORITY, higher first) in `lane`. Each API priority owns two adjacent ranks,
 * rescue then fresh, so priority still decides first: a rescued task never passes a task of higher
 * priority, and every task of lower priority waits behind it.
 */
export function dispatchRank(priority: number, lane: DispatchLane): number {
  const fresh = LEGACY_RANKS + 2 * (MAX_PRIORITY + 1 - priority);
  return lane === "rescue" ? fresh - 1 : fresh;
}

/** The lane a rank belongs to (a priority change keeps a waiting task in its lane; a legacy rank is fresh). */
export function laneOfRank(rank: number): DispatchLane {
  return rank > LEGACY_RANKS && (rank - LEGACY_RANKS) % 2 === 1 ? "rescue" : "fresh";
}

/** What the dispatch order knows of a waiting task. */
export interface WaitingTask {
  priority: number;
  lane: DispatchLane;
  /** When it was put on the queue this time (BullMQ's insertion order). */
  queuedAt: number;
}

/**
 * Whether `a` is handed out before `b`: higher priority first; within a priority, rescued tasks
 * first; within a lane, the one queued first. This is the order `dispatchRank` gives BullMQ.
 */
export function dispatchedBefore(a: WaitingTask, b: WaitingTask): boolean {
  const ra = dispatchRank(a.priority, a.lane);
  const rb = dispatchRank(b.priority, b.lane);
  if (ra !== rb) return ra < rb;
  return a.queuedAt < b.queuedAt;
}
