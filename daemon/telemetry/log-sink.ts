import type { Logger } from "pino";
import type { EventType, OverseerEvent } from "../events/catalogue.ts";

/** Facts an on-call engineer wants in the log at info; the high-volume rest goes to debug. */
const INFO_EVENTS: ReadonlySet<EventType> = new Set<EventType>([
  "agent.registered",
  "agent.recovered",
  "agent.stale",
  "agent.dead",
  "agent.draining",
  "agent.left",
  "task.requeued",
  "task.dead_lettered",
  "task.failed_permanently",
  "task.retried_by_operator",
  "leader.acquired",
  "leader.lost",
  "reconcile.repaired",
  // Emergency overrides are rare and drastic: each step (executed, undone, expired, rejected) with
  // its override id, actor, action and scope belongs in the on-call log.
  "override.step",
]);

/** The log sink of the event bus: one JSON line per event, with its type as `event`. */
export function logSink(logger: Logger): (e: OverseerEvent) => void {
  return (e) => {
    if (e.type === "agent.heartbeat") return;
    const { type, ...fields } = e;
    if (type === "loop.error") logger.warn({ event: type, ...fields }, type);
    else if (INFO_EVENTS.has(type)) logger.info({ event: type, ...fields }, type);
    else logger.debug({ event: type, ...fields }, type);
  };
}
