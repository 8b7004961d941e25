import type { TaskViewState } from "../../contract/schemas/tasks.ts";
import { OverseerError } from "../errors/overseer-error.ts";
import type { Tx } from "../store/pg-pool.ts";
import type { LockedForOperator } from "../store/task-operator-store.ts";
import type { TaskStore } from "../store/task-store.ts";

/**
 * How every operator action on one task starts, inside its transaction: the task's row locked, a
 * 404 when there is none, and a 409 naming its state (`conflict` says which states the action
 * takes) when the action does not apply to it, so the answer never depends on which action asked.
 */
export async function lockTaskForOperator(
  store: Pick<TaskStore, "lockForOperator">,
  tx: Tx,
  taskId: string,
  allowed: readonly TaskViewState[],
  conflict: (state: TaskViewState) => string,
): Promise<LockedForOperator> {
  const row = await store.lockForOperator(tx, taskId);
  if (!row) throw new OverseerError("OVS_ERR_TASK_NOT_FOUND", `no task ${taskId}`);
  if (!allowed.includes(row.state)) {
    throw new OverseerError("OVS_ERR_TASK_STATE_CONFLICT", conflict(row.state), { state: row.state });
  }
  return row;
}
