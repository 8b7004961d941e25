import type { EventBus } from "../events/event-bus.ts";
import type { HeartbeatStore } from "../store/redis/heartbeat-store.ts";
import type { ReadySignal } from "../store/redis/ready-signal.ts";
import type { TaskQueues } from "../store/redis/task-queues.ts";
import type { EnqueueOrder } from "../store/task-rows.ts";
import type { CancelledTask } from "../store/task-store.ts";
import { traceSpans } from "../telemetry/tracing.ts";

/**
 * What follows a commit that queued, cancelled or re-prioritised tasks: the BullMQ dispatch entries,
 * the wake-up of waiting claims, the agent's cancel command, and the events. Postgres has already
 * decided; a failure here is repaired by the reconciler.
 */
export class TaskDispatch {
  constructor(
    private readonly queues: TaskQueues,
    private readonly ready: ReadySignal,
    private readonly liveness: HeartbeatStore,
    private readonly bus: EventBus,
    private readonly onError: (error: unknown, context: string) => void,
  ) {}

  /**
   * Puts tasks on their queues (one round trip per type when there are several) and wakes claims;
   * failures are left to the reconciler.
   */
  async dispatch(orders: EnqueueOrder[]): Promise<void> {
    const byType = new Map<string, EnqueueOrder[]>();
    for (const order of orders) {
      const list = byType.get(order.type);
      if (list) list.push(order);
      else byType.set(order.type, [order]);
    }
    for (const [type, list] of byType) {
      try {
        if (list.length === 1) await this.queues.enqueue(list[0] as EnqueueOrder);
        else await this.queues.enqueueMany(type, list);
      } catch (error) {
        const what = list.length === 1 ? (list[0]?.id ?? "") : `${list.length} tasks of ${type}`;
        this.onError(error, `enqueue ${what} (the reconciler will repair it)`);
        continue;
      }
      const due = list.filter((o) => o.delayMs === 0).length;
      if (due > 0) this.ready.notify(type, due);
      for (const o of list) if (o.delayMs > 0) this.ready.notifyWhenDue(type, o.delayMs);
    }
  }

  /** Announces tasks created inside another transaction (pipeline steps) and queues them. */
  async afterInsert(tasks: Array<{ id: string; type: string; priority: number }>): Promise<void> {
    for (const t of tasks)
      this.bus.emit("task.submitted", { taskId: t.id, taskType: t.type, priority: t.priority });
    await this.dispatch(tasks.map((t) => ({ ...t, delayMs: 0 })));
  }

  /**
   * After a cancellation committed: drop the dispatch entry, tell the agent (its handler's
   * AbortSignal fires with the next heartbeat) and forget the lease.
   */
  async afterCancel(cancels: CancelledTask[]): Promise<void> {
    for (const c of cancels) {
      const reason = c.reason;
      const span = { taskId: c.taskId, type: c.type, traceParent: c.traceParent, finishedAt: c.finishedAt };
      if (c.attempt && c.agentId) {
        traceSpans.attemptEnded({
          ...span,
          attempt: c.attempt.attempt,
          agentId: c.agentId,
          claimedAt: c.attempt.claimedAt,
          outcome: "cancelled",
          decision: "cancelled",
          category: "cancelled",
          message: reason,
        });
      }
      traceSpans.taskEnded({
        ...span,
        state: "cancelled",
        attempts: c.attempts,
        createdAt: c.createdAt,
        message: reason,
      });
      this.bus.emit("task.cancelled", { taskId: c.taskId, taskType: c.type, reason });
      await this.queues.remove(c.type, c.taskId);
      if (c.agentId) {
        await this.liveness
          .pushCommand(c.agentId, { type: "cancel", taskId: c.taskId, reason })
          .catch((e) => this.onError(e, "push cancel"));
        await this.liveness.removeLease(c.agentId, c.taskId).catch((e) => this.onError(e, "forget lease"));
      }
    }
  }

  /** Moves waiting dispatch entries to a new priority (Postgres already has it). */
  async reprioritize(tasks: Array<{ id: string; type: string; priority: number }>): Promise<void> {
    for (const t of tasks) {
      await this.queues
        .changePriority(t.type, t.id, t.priority)
        .catch((e) => this.onError(e, "reprioritize"));
    }
  }
}
