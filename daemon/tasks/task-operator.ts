import type { Static } from "typebox";
import type { TaskListReply, TaskViewState } from "../../contract/schemas/tasks.ts";
import { OverseerError } from "../errors/overseer-error.ts";
import type { EventBus } from "../events/event-bus.ts";
import { auditLog } from "../store/audit-log.ts";
import { type Db, withTransaction } from "../store/pg-pool.ts";
import type { TaskListFilter } from "../store/task-reads-store.ts";
import type { TaskStore } from "../store/task-store.ts";
import { lockTaskForOperator } from "./operator-lock.ts";
import type { TaskDispatch } from "./task-dispatch.ts";
import type { TaskOutcomePort } from "./task-ports.ts";

export type { TaskListFilter };

/** Who asked, for the audit log. */
export interface OperatorCaller {
  actor: string;
  requestId: string | null;
}

const CANCELLABLE: readonly TaskViewState[] = ["queued", "active", "archived"];

/**
 * The operator's reads and levers on single tasks: the task list, cancel and priority. Each lever
 * commits its write and its audit record in one transaction (TaskStore writes `tasks`), then
 * follows the commit through TaskDispatch as the pipeline engine does: the queue entry, the agent's
 * cancel command. (The operator retry is TaskService.retryByOperator.)
 */
export class TaskOperator {
  constructor(
    private readonly db: Db,
    private readonly store: TaskStore,
    private readonly dispatcher: TaskDispatch,
    private readonly bus: EventBus,
    private readonly outcomes: TaskOutcomePort,
  ) {}

  list(filter: TaskListFilter): Promise<Static<typeof TaskListReply>> {
    return this.store.list(filter);
  }

  /**
   * Cancels a queued, active or archived task. An active lease is revoked in the same statement
   * (its token cleared, so the holder's next report is a 409 that changes nothing) and the holder is
   * sent a `cancel` command with its next heartbeat. 404 unknown, 409 already finished.
   */
  async cancel(
    taskId: string,
    reason: string | undefined,
    caller: OperatorCaller,
  ): Promise<{
    taskId: string;
    state: "cancelled";
    from: TaskViewState;
    leaseRevoked: boolean;
    agentId: string | null;
  }> {
    const why = reason ?? `cancelled by ${caller.actor}`;
    const { cancelled, from } = await withTransaction(this.db, async (tx) => {
      const row = await lockTaskForOperator(
        this.store,
        tx,
        taskId,
        CANCELLABLE,
        (state) =>
          `task ${taskId} is already ${state}; only queued, active or archived tasks can be cancelled`,
      );
      const cancelled = await this.store.cancel(tx, taskId, why);
      if (!cancelled) throw new OverseerError("OVS_ERR_TASK_STATE_CONFLICT", `task ${taskId} has ended`);
      await auditLog.record(tx, {
        actor: caller.actor,
        action: "task.cancel",
        targetKind: "task",
        targetId: taskId,
        reason: reason ?? null,
        requestId: caller.requestId,
        impact: { from: row.state, leaseRevoked: row.lease_token !== null, agentId: row.lease_agent_id },
        data: { type: row.type },
      });
      return { cancelled, from: row.state };
    });
    await this.dispatcher.afterCancel([cancelled]);
    this.bus.emit("operator.action", {
      actor: caller.actor,
      action: "task.cancel",
      targetKind: "task",
      targetId: taskId,
    });
    this.outcomes.taskEnded({ taskId, taskType: cancelled.type, state: "cancelled" });
    return {
      taskId,
      state: "cancelled",
      from,
      leaseRevoked: cancelled.agentId !== null,
      agentId: cancelled.agentId,
    };
  }

  /**
   * Gives a queued task a new priority: the row, then its dispatch entry (BullMQ job priority), so
   * it is claimed in the new order. 404 unknown, 409 not queued (an active task's order is spent).
   */
  async setPriority(
    taskId: string,
    input: { priority: number; reason?: string },
    caller: OperatorCaller,
  ): Promise<{ taskId: string; state: "queued"; priorityBefore: number; priority: number }> {
    const done = await withTransaction(this.db, async (tx) => {
      const row = await lockTaskForOperator(
        this.store,
        tx,
        taskId,
        ["queued"],
        (state) => `task ${taskId} is ${state}; only a queued task's priority can change`,
      );
      await this.store.reprioritizeQueued(tx, [taskId], input.priority);
      await auditLog.record(tx, {
        actor: caller.actor,
        action: "task.priority",
        targetKind: "task",
        targetId: taskId,
        reason: input.reason ?? null,
        requestId: caller.requestId,
        impact: { priorityBefore: row.priority, priority: input.priority },
        data: { type: row.type },
      });
      return { type: row.type, priorityBefore: row.priority };
    });
    await this.dispatcher.reprioritize([{ id: taskId, type: done.type, priority: input.priority }]);
    this.bus.emit("operator.action", {
      actor: caller.actor,
      action: "task.priority",
      targetKind: "task",
      targetId: taskId,
    });
    return { taskId, state: "queued", priorityBefore: done.priorityBefore, priority: input.priority };
  }
}
