import type { AgentEvents, AgentStats, TaskEventInfo } from "./agent-types.ts";
import type { Clock } from "./runtime.ts";
import type { TaskOutcome, TaskRun } from "./task-run.ts";

/** What the tracker reports to its agent. */
export interface TaskTrackerHooks {
  clock: Clock;
  emit<K extends keyof AgentEvents>(event: K, ...args: AgentEvents[K]): void;
  reportError(err: unknown, context: string): void;
  /** A task ended: capacity is free again. */
  onFinished(): void;
}

/** The agent's in-flight tasks: turns their outcomes into stats and events, and tells when none is left. */
export class TaskTracker {
  readonly stats: AgentStats = { claimed: 0, completed: 0, failed: 0, lost: 0, released: 0 };
  /** By lease token: the same task id may come back under a new lease. */
  private readonly runs = new Map<string, TaskRun>();
  private readonly hooks: TaskTrackerHooks;
  private idleWaiters: Array<() => void> = [];

  constructor(hooks: TaskTrackerHooks) {
    this.hooks = hooks;
  }

  /** Number of tasks in flight, reports in progress included. */
  get size(): number {
    return this.runs.size;
  }

  /** Tracks a freshly claimed run until its outcome. */
  add(run: TaskRun): void {
    this.stats.claimed++;
    this.runs.set(run.task.leaseToken, run);
    void run.outcome.then((outcome) => this.finish(run, outcome));
  }

  /** Runs whose handler has not finished yet. */
  running(): TaskRun[] {
    return [...this.runs.values()].filter((r) => r.running);
  }

  /** Ids of tasks leased to registration `agentId`. */
  taskIdsOf(agentId: string): string[] {
    const ids = [...this.runs.values()].filter((r) => r.owner.agentId === agentId).map((r) => r.task.id);
    return [...new Set(ids)];
  }

  /** Cancels every run of `taskId`; true if one was running. */
  cancel(taskId: string, reason: string | undefined): boolean {
    let found = false;
    for (const run of [...this.runs.values()]) {
      if (run.task.id === taskId && run.cancel("cancelled", reason)) found = true;
    }
    return found;
  }

  /** Resolves once no task is in flight. */
  idle(): Promise<void> {
    if (this.runs.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private finish(run: TaskRun, outcome: TaskOutcome): void {
    this.runs.delete(run.task.leaseToken);
    const info = eventInfo(run);
    const durationMs = this.hooks.clock.now() - run.startedAt;
    switch (outcome.kind) {
      case "completed":
        this.stats.completed++;
        this.hooks.emit("task:completed", { ...info, result: outcome.result, durationMs });
        break;
      case "failed":
        this.stats.failed++;
        this.hooks.emit("task:failed", { ...info, error: outcome.error, durationMs });
        break;
      case "lost":
        this.stats.lost++;
        if (outcome.reason === "unreported") {
          this.hooks.reportError(outcome.error, `report for task ${info.taskId} lost`);
        }
        this.hooks.emit("task:lost", { ...info, reason: outcome.reason, message: outcome.message });
        break;
      case "released":
        this.stats.released++;
        this.hooks.emit("task:released", info);
        break;
    }
    this.hooks.onFinished();
    if (this.runs.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** The identifying fields of a run, as carried by task events. */
export function eventInfo(run: TaskRun): TaskEventInfo {
  const { task, owner } = run;
  return {
    taskId: task.id,
    type: task.type,
    attempt: task.attempt,
    leaseToken: task.leaseToken,
    agentId: owner.agentId,
  };
}
