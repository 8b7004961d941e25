import type { ReconcileReport } from "../../contract/schemas/coordination.ts";
import type { EventBus } from "../events/event-bus.ts";
import type { AgentStore } from "../store/agent-store.ts";
import type { HeartbeatStore } from "../store/redis/heartbeat-store.ts";
import type { TaskQueues } from "../store/redis/task-queues.ts";
import type { TaskStore } from "../store/task-store.ts";
import type { TaskDispatch } from "./task-dispatch.ts";
import type { TaskService } from "./task-service.ts";

// A reset answers the pass's report (POST /api/dashboard/coordination/reset): its shape is the contract's.
export type { ReconcileReport };

/** Agents read or written per statement by a reconcile pass. */
const PAGE = 1_000;
/**
 * Level-triggered repair (leader only): compares Postgres, the system of record, with Redis and
 * fixes drift — queued tasks with no dispatch entry (Redis lost a write, or an enqueue failed after
 * commit), leases held by agents that are no longer live, leases of live agents missing from the
 * Redis lease mirror (so the forgotten-lease check sees them), live agents missing from the mirror.
 */
export class Reconciler {
  constructor(
    private readonly taskStore: TaskStore,
    private readonly agentStore: AgentStore,
    private readonly queues: TaskQueues,
    private readonly liveness: HeartbeatStore,
    private readonly tasks: TaskService,
    private readonly dispatcher: TaskDispatch,
    private readonly bus: EventBus,
    /** Queued tasks younger than this are left alone: their enqueue may still be in flight. */
    private readonly settleMs = 5_000,
  ) {}

  async run(): Promise<ReconcileReport> {
    const report: ReconcileReport = {
      requeuedMissing: 0,
      orphanedLeases: 0,
      untrackedLeases: 0,
      restoredAgents: 0,
      flushedHeartbeats: 0,
    };

    const queued = await this.taskStore.queuedOlderThan(this.settleMs, 5_000);
    const present = await this.queues.present(queued);
    const missing = queued.filter((t) => !present.has(t.id));
    if (missing.length > 0) {
      await this.dispatcher.dispatch(missing);
      report.requeuedMissing = missing.length;
      this.bus.emit("reconcile.repaired", { kind: "missing_dispatch", count: missing.length });
    }

    for (const agentId of await this.taskStore.orphanedLeaseHolders()) {
      const ends = await this.agentStore.endOrphanedLeases(agentId);
      await this.tasks.afterAttemptEnds(ends, "agent_dead");
      report.orphanedLeases += ends.length;
    }
    if (report.orphanedLeases > 0) {
      this.bus.emit("reconcile.repaired", { kind: "orphaned_lease", count: report.orphanedLeases });
    }

    // A lease committed just before a daemon died may never have reached the agent nor the mirror;
    // once mirrored, two heartbeats that leave it out release it (instead of the task's timeout).
    const byAgent = new Map<string, string[]>();
    for (const { agentId, taskId } of await this.taskStore.leasesOfLiveAgents(this.settleMs)) {
      byAgent.set(agentId, [...(byAgent.get(agentId) ?? []), taskId]);
    }
    for (const [agentId, taskIds] of byAgent) {
      report.untrackedLeases += await this.liveness.trackLeases(agentId, taskIds);
    }
    if (report.untrackedLeases > 0) {
      this.bus.emit("reconcile.repaired", { kind: "untracked_lease", count: report.untrackedLeases });
    }

    // In pages, each its own Postgres and Redis round trip: 10,000 agents never hold the event
    // loop (or the heartbeats answered on it) for one long parse.
    for (let after: string | null = null; ; ) {
      const page = await this.agentStore.livePage(after, PAGE);
      const mirrored = await this.liveness.states(page.map((a) => a.id));
      for (const agent of page) {
        if (!mirrored.has(agent.id)) {
          // Restore with the last heartbeat Postgres knows: a silent agent then goes stale/dead as usual.
          await this.liveness.setState(agent.id, agent.state, agent.lastHeartbeatAt);
          report.restoredAgents++;
        }
      }
      if (page.length < PAGE) break;
      after = (page.at(-1) as { id: string }).id;
    }
    if (report.restoredAgents > 0) {
      this.bus.emit("reconcile.repaired", { kind: "liveness_mirror", count: report.restoredAgents });
    }

    const { beats } = await this.liveness.all();
    const all = [...beats].map(([id, at]) => ({ id, at }));
    for (let i = 0; i < all.length; i += PAGE) await this.agentStore.flushHeartbeats(all.slice(i, i + PAGE));
    report.flushedHeartbeats = beats.size;
    return report;
  }
}
