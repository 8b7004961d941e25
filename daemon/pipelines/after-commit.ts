import type { CancelledTask } from "../store/task-store.ts";

/**
 * Work to do once a run's transaction has committed: queueing inserted step tasks, cancelling and
 * re-prioritising tasks (TaskDispatch), then bus events and spans, in that order.
 */
export interface AfterCommit {
  inserted: Array<{ id: string; type: string; priority: number }>;
  cancelled: CancelledTask[];
  reprioritized: Array<{ id: string; type: string; priority: number }>;
  emit: Array<() => void>;
}

export const newAfterCommit = (): AfterCommit => ({
  inserted: [],
  cancelled: [],
  reprioritized: [],
  emit: [],
});

/** What every event of a run carries. */
export interface RunBase {
  runId: string;
  template: string;
}
