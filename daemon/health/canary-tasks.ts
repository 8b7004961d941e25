import type { CanaryStore, CanaryTaskRow } from "../store/canary-store.ts";
import { type Db, withTransaction } from "../store/pg-pool.ts";
import type { TaskStore } from "../store/task-store.ts";
import type { TaskDispatch } from "../tasks/task-dispatch.ts";
import type { SubmitInput, TaskService } from "../tasks/task-service.ts";

/**
 * The canary's tasks as the daemon keeps them (probes/canary-probe.ts drives them): its reads
 * (CanaryStore), submission through the task service like any task, and cancellation through the
 * tasks table's writer followed by the dispatch clean-up, as every cancel path does.
 */
export class CanaryTasks {
  constructor(
    private readonly db: Db,
    private readonly store: CanaryStore,
    private readonly taskService: TaskService,
    private readonly taskStore: TaskStore,
    private readonly dispatch: TaskDispatch,
  ) {}

  /** Roles with a canary-capable agent live or heard from within `windowMs`. */
  probedRoles(windowMs: number, limit: number): Promise<string[]> {
    return this.store.probedRoles(windowMs, limit);
  }

  /** Canary tasks still queued or active, oldest first. */
  openCanaries(limit: number): Promise<CanaryTaskRow[]> {
    return this.store.openCanaries(limit);
  }

  /** The tasks `ids` as Postgres has them now; a missing id has no entry. */
  tasks(ids: string[]): Promise<CanaryTaskRow[]> {
    return this.store.tasks(ids);
  }

  /** Submits a canary through the real dispatch path; resolves with its task id. */
  async submit(input: SubmitInput): Promise<string> {
    return (await this.taskService.submit(input)).id;
  }

  /** Cancels a canary task (nothing when it already ended) and drops its dispatch entry. */
  async cancel(taskId: string, reason: string): Promise<void> {
    const cancelled = await withTransaction(this.db, (client) =>
      this.taskStore.cancel(client, taskId, reason),
    );
    if (cancelled) await this.dispatch.afterCancel([cancelled]);
  }
}
