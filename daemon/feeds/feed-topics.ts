import { type FeedFilter, type FeedName, FILTER_KEYS } from "../../contract/feed-protocol.ts";
import type { EventType, OverseerEvent } from "../events/catalogue.ts";

/**
 * The WebSocket feeds (pure): which event types each feed carries, how a subscription filter
 * matches an event, and how stream ids compare. No I/O.
 */

/** The topic of each event type; `null` is never streamed. `dashboard` carries every topic. */
export const EVENT_TOPIC: Record<EventType, Exclude<FeedName, "dashboard"> | null> = {
  "agent.registered": "agents",
  "agent.recovered": "agents",
  "agent.stale": "agents",
  "agent.dead": "agents",
  "agent.draining": "agents",
  "agent.left": "agents",
  // One per agent per second: the snapshot's heartbeat ages and agent.stale/agent.dead cover it.
  "agent.heartbeat": null,
  "llm.call": "agents",
  "task.submitted": "tasks",
  "task.claimed": "tasks",
  "task.progress": "tasks",
  "task.completed": "tasks",
  "task.failed": "tasks",
  "task.retry_scheduled": "tasks",
  "task.requeued": "tasks",
  "task.dead_lettered": "tasks",
  "task.failed_permanently": "tasks",
  "task.retried_by_operator": "tasks",
  "task.cancelled": "tasks",
  "lease.conflict": "tasks",
  "pipeline.template.saved": "coordination",
  "pipeline.run.started": "coordination",
  "pipeline.run.completed": "coordination",
  "pipeline.run.failed": "coordination",
  "pipeline.run.cancelled": "coordination",
  "pipeline.run.paused": "coordination",
  "pipeline.run.resumed": "coordination",
  "pipeline.run.snoozed": "coordination",
  "pipeline.run.escalated": "coordination",
  "pipeline.run.progress": "coordination",
  "pipeline.step.started": "coordination",
  "pipeline.step.progress": "coordination",
  "pipeline.step.completed": "coordination",
  "pipeline.step.failed": "coordination",
  "pipeline.step.skipped": "coordination",
  "pipeline.step.retried": "coordination",
  "pipeline.step.input_modified": "coordination",
  "pipeline.artifact.created": "coordination",
  "conversation.opened": "coordination",
  "conversation.message": "coordination",
  "conversation.completed": "coordination",
  "schedule.saved": "coordination",
  "schedule.state_changed": "coordination",
  "schedule.deleted": "coordination",
  "schedule.fired": "coordination",
  "budget.saved": "coordination",
  "budget.deleted": "coordination",
  "budget.step": "coordination",
  "feedback.recorded": "coordination",
  "operator.action": "system",
  "override.step": "system",
  "leader.acquired": "system",
  "leader.lost": "system",
  "leader.fenced": "system",
  "reconcile.repaired": "system",
  "loop.error": "system",
  "retention.completed": "system",
  "managed.started": "agents",
  "managed.exited": "agents",
  "managed.gave_up": "agents",
  "agent.restart_requested": "agents",
  "heal.action": "system",
  "probe.completed": "system",
};

/** Whether `feed` carries events of `type`. */
export function feedCarries(feed: FeedName, type: EventType): boolean {
  const topic = EVENT_TOPIC[type];
  return topic !== null && (feed === "dashboard" || feed === topic);
}

/** Whether an event type is streamed at all (published to Redis). */
export function isStreamed(type: EventType): boolean {
  return EVENT_TOPIC[type] !== null;
}

/**
 * Whether an event matches a filter. A key that is set requires the event to have that field with
 * one of the values: an event without the field (a task event has no `role`) does not match.
 */
export function matchesFilter(event: OverseerEvent, filter: FeedFilter): boolean {
  const fields = event as unknown as Record<string, unknown>;
  for (const key of FILTER_KEYS) {
    const wanted = filter[key];
    if (!wanted) continue;
    const actual = fields[key];
    if (typeof actual !== "string" || !wanted.includes(actual)) return false;
  }
  return true;
}

/** A Redis stream id `<ms>-<seq>`, or null when `id` is not one. */
export function parseStreamId(id: string): [bigint, bigint] | null {
  const m = /^(\d{1,20})-(\d{1,20})$/.exec(id);
  return m ? [BigInt(m[1] as string), BigInt(m[2] as string)] : null;
}

/** Orders two valid stream ids: negative, zero or positive. */
export function compareStreamIds(a: string, b: string): number {
  const x = parseStreamId(a);
  const y = parseStreamId(b);
  if (!x || !y) throw new Error(`not stream ids: ${a}, ${b}`);
  if (x[0] !== y[0]) return x[0] < y[0] ? -1 : 1;
  if (x[1] !== y[1]) return x[1] < y[1] ? -1 : 1;
  return 0;
}
