import type { AgentRegistration } from "./agent-registration.ts";
import type { AgentLifecycleState } from "./agent-types.ts";
import { type ApiCaller, isApiError } from "./http-client.ts";
import type { Clock, Logger } from "./runtime.ts";
import { SerialTimer } from "./serial-timer.ts";
import type { TaskTracker } from "./task-tracker.ts";
import type { HeartbeatRequest, HeartbeatResponse } from "./types.ts";

export interface AgentHeartbeatDeps {
  http: ApiCaller;
  logger: Logger;
  clock: Clock;
  /** Tasks run at once: the load reported is in-flight tasks over this. */
  concurrency: number;
  requestTimeoutMs: number;
  registration: AgentRegistration;
  tasks: TaskTracker;
  state(): AgentLifecycleState;
  /** A drain or restart command: stop claiming and drain; `restart` asks for a restart afterwards. */
  drain(restart: boolean): void;
  reportError(err: unknown, context: string): void;
}

const HEARTBEAT_RETRY = { maxAttempts: 3 };

/**
 * Heartbeats at the interval the daemon gave at registration, reporting the tasks held, and
 * carries out the commands the answers bring (cancel, drain, restart).
 */
export class AgentHeartbeat {
  private readonly deps: AgentHeartbeatDeps;
  private readonly timer: SerialTimer;

  constructor(deps: AgentHeartbeatDeps) {
    this.deps = deps;
    this.timer = new SerialTimer(
      deps.clock,
      () => deps.registration.current?.heartbeatIntervalMs,
      () => this.send().catch((err: unknown) => deps.reportError(err, "heartbeat failed")),
    );
  }

  /** Arms the next heartbeat unless one is armed, running or stopped. */
  schedule(): void {
    this.timer.schedule();
  }

  /** Heartbeats now (after one in progress) and re-arms. */
  runNow(): Promise<void> {
    return this.timer.runNow();
  }

  /** Stops for good; resolves when a heartbeat in progress is over. */
  stop(): Promise<void> {
    return this.timer.stop();
  }

  private async send(): Promise<void> {
    const { http, logger, tasks, registration } = this.deps;
    const session = registration.current;
    if (!session || this.deps.state() === "REGISTERING") return;
    const body: HeartbeatRequest = {
      status: this.deps.state() === "DRAINING" ? "draining" : "active",
      // Tasks held under an older registration are not this id's leases.
      activeTaskIds: tasks.taskIdsOf(session.id),
      load: tasks.size / this.deps.concurrency,
    };
    let res: HeartbeatResponse | undefined;
    try {
      res = await http.request<HeartbeatResponse>("POST", `/api/agents/${session.id}/heartbeat`, {
        token: session.token,
        body,
        retry: HEARTBEAT_RETRY,
        timeoutMs: Math.min(this.deps.requestTimeoutMs, Math.max(1_000, session.heartbeatIntervalMs)),
      });
    } catch (err) {
      if (!isApiError(err, 401, 404)) throw err;
      if (this.deps.state() === "RUNNING") {
        void registration.reRegister(session);
      } else {
        logger.warn({ agentId: session.id, status: err.status }, "daemon forgot the agent while draining");
      }
      return;
    }
    this.handleCommands(res?.commands);
  }

  private handleCommands(commands: unknown): void {
    if (!Array.isArray(commands)) return;
    for (const command of commands as Array<{ type?: unknown; taskId?: unknown; reason?: unknown }>) {
      switch (command?.type) {
        case "cancel":
          this.cancelTask(
            String(command.taskId),
            typeof command.reason === "string" ? command.reason : undefined,
          );
          break;
        case "restart":
        case "drain":
          this.deps.logger.info({ command: command.type }, "daemon asked the agent to drain");
          this.deps.drain(command.type === "restart");
          break;
        default:
          this.deps.logger.debug({ command }, "ignoring unknown command");
      }
    }
  }

  private cancelTask(taskId: string, reason: string | undefined): void {
    const found = this.deps.tasks.cancel(taskId, reason);
    this.deps.logger[found ? "info" : "debug"]({ taskId, reason, found }, "cancel command");
  }
}
