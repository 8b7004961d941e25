import type { EventBus } from "../daemon/events/event-bus.ts";
import type { LeaderElection } from "../daemon/leader/leader-election.ts";
import { IntervalLoop } from "../daemon/lifecycle/interval-loop.ts";

/**
 * One background loop of the daemon. Each pass runs `replica` on every replica (caches, expiries a
 * conditional write ends once), then `leader` on the leader only, fenced (docs/scaling.md): a
 * replica that lost the lease, or was paused past it, changes nothing.
 */
export interface LoopSpec {
  name: string;
  everyMs: number;
  replica?: () => Promise<unknown>;
  leader?: () => Promise<unknown>;
}

/** The daemon's loops from their table, with one error handler: every failure is a `loop.error` event. */
export function buildLoops(specs: LoopSpec[], election: LeaderElection, bus: EventBus): IntervalLoop[] {
  const onError = (error: unknown, loop: string) =>
    bus.emit("loop.error", { loop, message: (error as Error)?.message ?? String(error) });
  return specs.map(
    (spec) =>
      new IntervalLoop(
        spec.name,
        spec.everyMs,
        async () => {
          await spec.replica?.();
          if (spec.leader) await election.asLeader(spec.leader);
        },
        onError,
      ),
  );
}
