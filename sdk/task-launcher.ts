import type { Session } from "./agent-registration.ts";
import type { AgentEvents } from "./agent-types.ts";
import type { ApiCaller } from "./http-client.ts";
import type { LlmCallDelivery } from "./llm-call-delivery.ts";
import type { Clock, Logger } from "./runtime.ts";
import { TaskError } from "./task-error.ts";
import { type TaskHandler, TaskRun } from "./task-run.ts";
import { eventInfo, type TaskTracker } from "./task-tracker.ts";
import type { ClaimedTask } from "./types.ts";

export interface TaskLauncherDeps {
  http: ApiCaller;
  logger: Logger;
  clock: Clock;
  /** One handler per task type. */
  handlers: Record<string, TaskHandler>;
  tasks: TaskTracker;
  /** Present when the agent has an LLM client: gives handlers `ctx.llm`. */
  llmCalls: LlmCallDelivery | undefined;
  /** The agent's stop signal: a task claimed once it aborted is handed back, not run. */
  signal: AbortSignal;
  emitStart(info: AgentEvents["task:start"][0]): void;
}

/** Turns a claimed task into a tracked TaskRun: started, or handed straight back. */
export class TaskLauncher {
  private readonly deps: TaskLauncherDeps;

  constructor(deps: TaskLauncherDeps) {
    this.deps = deps;
  }

  /** Runs `task`, leased to `session`; `handBack` releases it at once (more than the claim asked for). */
  accept(task: ClaimedTask, session: Session, handBack: boolean): void {
    const { http, logger, clock, llmCalls } = this.deps;
    if (typeof task?.id !== "string" || typeof task.leaseToken !== "string") {
      logger.warn({ task }, "ignoring malformed task in claim answer");
      return;
    }
    const handler = this.deps.handlers[task.type] ?? unsupported(task.type);
    const run = new TaskRun(task, { agentId: session.id, token: session.token }, handler, {
      http,
      logger,
      clock,
      llm: llmCalls ? llmCalls.forTasksOf(session.id) : undefined,
      ...(llmCalls ? { beforeReport: () => llmCalls.beforeReport() } : {}),
    });
    this.deps.tasks.add(run);
    if (handBack || this.deps.signal.aborted) {
      // Also when claimed while a stop began: no point starting work we will not finish.
      void run.release();
      return;
    }
    this.deps.emitStart(eventInfo(run));
    run.start();
  }
}

function unsupported(type: string): TaskHandler {
  return () => {
    // Retryable: another agent may well have this capability.
    throw new TaskError(`no handler for task type "${type}"`, { category: "unsupported", retryable: true });
  };
}
