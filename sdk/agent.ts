import { EventEmitter } from "node:events";
import type {
  AgentEvents,
  AgentLifecycleState,
  AgentOptions,
  AgentStats,
  TaskEventInfo,
} from "./agent-types.ts";
import { ApiError, HttpClient, isApiError } from "./http-client.ts";
import {
  type Clock,
  errorMessage,
  type Logger,
  noopLogger,
  sleep,
  systemClock,
  type TimerHandle,
} from "./runtime.ts";
import { TaskError } from "./task-error.ts";
import { type TaskHandler, type TaskOutcome, TaskRun } from "./task-run.ts";
import type {
  ClaimedTask,
  ClaimResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  RegisterRequest,
  RegisterResponse,
} from "./types.ts";

interface Session {
  id: string;
  token: string;
  heartbeatIntervalMs: number;
  leaseTimeoutMs: number | undefined;
}

const DEFAULT_HEARTBEAT_MS = 5_000;
// Guards against a hot loop when the daemon answers claims at once instead of long-polling.
const MIN_CLAIM_INTERVAL_MS = 100;
const MAX_ERROR_BACKOFF_MS = 30_000;
const HEARTBEAT_RETRY = { maxAttempts: 3 };
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Supervised worker: registers with the Overseer daemon, heartbeats, claims tasks and runs their handlers. */
export class Agent extends EventEmitter<AgentEvents> {
  /** Counters of task outcomes. */
  readonly stats: AgentStats = { claimed: 0, completed: 0, failed: 0, lost: 0, released: 0 };
  /** Set when a restart command arrived; the "restart" event follows deregistration. */
  restartRequested = false;

  private readonly http: HttpClient;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly handlers: Record<string, TaskHandler>;
  private readonly capabilities: string[];
  private readonly concurrency: number;
  private readonly claimWaitMs: number;
  private readonly shutdownGraceMs: number;
  private readonly requestTimeoutMs: number;
  private readonly registration: RegisterRequest;
  private readonly agentSecret: string;

  private lifecycle: AgentLifecycleState = "INITIALIZED";
  private session: Session | undefined;
  /** In-flight runs by lease token: the same task id may come back under a new lease. */
  private readonly runs = new Map<string, TaskRun>();
  /** Aborted when stopping or failing: ends the claim loop, pending long-poll, registration and sleeps. */
  private readonly stopController = new AbortController();
  private startPromise: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;
  private claimLoopDone: Promise<void> = Promise.resolve();
  private registering: Promise<void> | undefined;
  private heartbeatTimer: TimerHandle | undefined;
  private heartbeatInFlight: Promise<void> | undefined;
  private heartbeatsStopped = false;
  private wakeClaimLoop: () => void = () => {};
  private idleWaiters: Array<() => void> = [];
  private graceDeadline = Number.POSITIVE_INFINITY;
  private graceTimer: TimerHandle | undefined;
  private graceExpired: () => void = () => {};
  private readonly graceOver = new Promise<void>((resolve) => {
    this.graceExpired = resolve;
  });

  constructor(opts: AgentOptions) {
    super();
    const urls = opts.urls ?? (opts.url === undefined ? [] : [opts.url]);
    if (urls.length === 0) throw new TypeError("Agent needs `url` or `urls`");
    this.logger = opts.logger ?? noopLogger;
    this.clock = opts.clock ?? systemClock;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 15_000;
    this.http = new HttpClient({
      urls,
      fetch: opts.fetch,
      logger: this.logger,
      clock: this.clock,
      random: opts.random,
      retry: opts.retry,
      requestTimeoutMs: this.requestTimeoutMs,
    });
    this.handlers = opts.handlers;
    this.capabilities = opts.capabilities ?? Object.keys(opts.handlers);
    this.concurrency = Math.max(1, Math.floor(opts.concurrency ?? 1));
    this.claimWaitMs = Math.max(0, opts.claimWaitMs ?? 10_000);
    this.shutdownGraceMs = Math.max(0, opts.shutdownGraceMs ?? 10_000);
    this.agentSecret = opts.agentSecret;
    this.registration = {
      name: opts.name,
      role: opts.role,
      capabilities: this.capabilities,
      concurrency: this.concurrency,
    };
  }

  /** Current lifecycle state. */
  get state(): AgentLifecycleState {
    return this.lifecycle;
  }

  /** Agent id of the current registration, if any. */
  get id(): string | undefined {
    return this.session?.id;
  }

  /** Number of tasks currently leased to this agent. */
  get inFlight(): number {
    return this.runs.size;
  }

  /** Registers, then heartbeats and claims in the background; rejects (state FAILED) when registration fails. */
  start(): Promise<void> {
    this.startPromise ??= this.doStart();
    return this.startPromise;
  }

  /** Drains: stops claiming, lets in-flight tasks run up to graceMs, releases the rest, deregisters. Idempotent. */
  stop(opts: { graceMs?: number } = {}): Promise<void> {
    // A later call may only shorten the grace period (a second SIGINT, say).
    this.shortenGrace(opts.graceMs ?? this.shutdownGraceMs);
    this.stopPromise ??= this.shutdown().catch((err: unknown) => this.reportError(err, "shutdown failed"));
    return this.stopPromise;
  }

  /** On SIGTERM/SIGINT: stop() and then, unless `exit` is false, exit the process. Returns an uninstaller. */
  installSignalHandlers(opts: { exit?: boolean; signals?: NodeJS.Signals[] } = {}): () => void {
    const exit = opts.exit ?? true;
    const signals = opts.signals ?? ["SIGTERM", "SIGINT"];
    let received = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      received++;
      this.logger.info({ signal }, received === 1 ? "signal received; stopping" : "signal received again");
      if (received > 1) {
        void this.stop({ graceMs: 0 });
        return;
      }
      void this.stop().then(() => {
        if (exit) process.exit(this.lifecycle === "FAILED" ? 1 : 0);
      });
    };
    for (const signal of signals) process.on(signal, onSignal);
    return () => {
      for (const signal of signals) process.off(signal, onSignal);
    };
  }

  private async doStart(): Promise<void> {
    if (this.lifecycle !== "INITIALIZED") throw new Error(`cannot start an agent in state ${this.lifecycle}`);
    this.setState("REGISTERING");
    try {
      await this.register();
    } catch (err) {
      if (this.stopController.signal.aborted) return;
      this.setState("FAILED");
      this.stopController.abort();
      throw err;
    }
    if (this.stopController.signal.aborted) return;
    this.setState("RUNNING");
    this.scheduleHeartbeat();
    this.claimLoopDone = this.claimLoop().catch((err: unknown) =>
      this.reportError(err, "claim loop crashed"),
    );
  }

  private async register(): Promise<void> {
    const res = await this.http.request<RegisterResponse>("POST", "/api/agents/register", {
      token: this.agentSecret,
      body: this.registration,
      signal: this.stopController.signal,
    });
    if (typeof res?.id !== "string" || typeof res.token !== "string") {
      throw new ApiError(201, "BAD_RESPONSE", "register answer lacks id or token");
    }
    const interval = res.heartbeatIntervalMs;
    const previousId = this.session?.id;
    this.session = {
      id: res.id,
      token: res.token,
      heartbeatIntervalMs:
        typeof interval === "number" && Number.isFinite(interval) && interval > 0
          ? Math.max(10, interval)
          : DEFAULT_HEARTBEAT_MS,
      leaseTimeoutMs: res.leaseTimeoutMs,
    };
    this.logger.info({ agentId: res.id, previousId, url: this.http.baseUrl }, "agent registered");
    this.safeEmit("registered", previousId === undefined ? { id: res.id } : { id: res.id, previousId });
  }

  /** Registers again after the daemon forgot `stale`; concurrent callers share one attempt. */
  private reRegister(stale: Session): Promise<void> {
    if (this.registering) return this.registering;
    if (this.session !== stale || this.lifecycle !== "RUNNING") return Promise.resolve();
    this.logger.warn({ agentId: stale.id }, "daemon no longer knows this agent; registering again");
    this.setState("REGISTERING");
    const signal = this.stopController.signal;
    this.registering = (async () => {
      for (let attempt = 0; !signal.aborted; attempt++) {
        try {
          await this.register();
          break;
        } catch (err) {
          if (signal.aborted) return;
          if (isApiError(err) && !err.transient) {
            this.failWith(err);
            return;
          }
          this.reportError(err, "registration failed; will retry");
          const delay = Math.min(MAX_ERROR_BACKOFF_MS, stale.heartbeatIntervalMs * 2 ** attempt);
          await sleep(this.clock, delay, signal);
        }
      }
      if (signal.aborted) return;
      this.setState("RUNNING");
      this.scheduleHeartbeat();
    })().finally(() => {
      this.registering = undefined;
    });
    return this.registering;
  }

  private async claimLoop(): Promise<void> {
    const signal = this.stopController.signal;
    let failures = 0;
    while (!signal.aborted) {
      if (this.lifecycle === "REGISTERING") {
        await (this.registering ?? sleep(this.clock, MIN_CLAIM_INTERVAL_MS, signal));
        continue;
      }
      if (this.lifecycle !== "RUNNING") break;
      const free = this.concurrency - this.runs.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => {
          this.wakeClaimLoop = resolve;
        });
        continue;
      }
      const session = this.session!;
      const startedAt = this.clock.now();
      let tasks: ClaimedTask[];
      try {
        const res = await this.http.request<ClaimResponse>("POST", `/api/agents/${session.id}/claim`, {
          token: session.token,
          body: { max: free, waitMs: this.claimWaitMs },
          signal,
          timeoutMs: this.claimWaitMs + this.requestTimeoutMs,
        });
        tasks = Array.isArray(res?.tasks) ? res.tasks : [];
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        if (isApiError(err, 401, 404)) {
          await this.reRegister(session);
          continue;
        }
        this.reportError(err, "claim failed");
        await sleep(this.clock, Math.min(MAX_ERROR_BACKOFF_MS, 250 * 2 ** failures++), signal);
        continue;
      }
      for (const task of tasks) this.accept(task, session);
      const elapsed = this.clock.now() - startedAt;
      if (tasks.length === 0 && elapsed < MIN_CLAIM_INTERVAL_MS) {
        await sleep(this.clock, MIN_CLAIM_INTERVAL_MS - elapsed, signal);
      }
    }
  }

  private accept(task: ClaimedTask, session: Session): void {
    if (typeof task?.id !== "string" || typeof task.leaseToken !== "string") {
      this.logger.warn({ task }, "ignoring malformed task in claim answer");
      return;
    }
    this.stats.claimed++;
    const handler = this.handlers[task.type] ?? unsupported(task.type);
    const run = new TaskRun(task, { agentId: session.id, token: session.token }, handler, {
      http: this.http,
      logger: this.logger,
      clock: this.clock,
    });
    this.runs.set(task.leaseToken, run);
    void run.outcome.then((outcome) => this.onFinished(run, outcome));
    if (this.stopController.signal.aborted) {
      // Claimed while a stop began: hand it straight back rather than start work we will not finish.
      void run.release();
      return;
    }
    this.safeEmit("task:start", eventInfo(run));
    run.start();
  }

  private onFinished(run: TaskRun, outcome: TaskOutcome): void {
    this.runs.delete(run.task.leaseToken);
    const info = eventInfo(run);
    const durationMs = this.clock.now() - run.startedAt;
    switch (outcome.kind) {
      case "completed":
        this.stats.completed++;
        this.safeEmit("task:completed", { ...info, result: outcome.result, durationMs });
        break;
      case "failed":
        this.stats.failed++;
        this.safeEmit("task:failed", { ...info, error: outcome.error, durationMs });
        break;
      case "lost":
        this.stats.lost++;
        if (outcome.reason === "unreported")
          this.reportError(outcome.error, `report for task ${info.taskId} lost`);
        this.safeEmit("task:lost", { ...info, reason: outcome.reason, message: outcome.message });
        break;
      case "released":
        this.stats.released++;
        this.safeEmit("task:released", info);
        break;
    }
    this.wake();
  }

  private scheduleHeartbeat(): void {
    if (this.heartbeatTimer !== undefined || this.heartbeatsStopped || !this.session) return;
    this.heartbeatTimer = this.clock.setTimeout(() => {
      this.heartbeatTimer = undefined;
      void this.heartbeatNow();
    }, this.session.heartbeatIntervalMs);
  }

  /** Sends a heartbeat now (after any in flight), then re-arms the timer. Never rejects. */
  private async heartbeatNow(): Promise<void> {
    while (this.heartbeatInFlight) await this.heartbeatInFlight;
    if (this.heartbeatTimer !== undefined) {
      this.clock.clearTimeout(this.heartbeatTimer);
      this.heartbeatTimer = undefined;
    }
    if (this.heartbeatsStopped) return;
    this.heartbeatInFlight = this.sendHeartbeat()
      .catch((err: unknown) => this.reportError(err, "heartbeat failed"))
      .finally(() => {
        this.heartbeatInFlight = undefined;
        this.scheduleHeartbeat();
      });
    await this.heartbeatInFlight;
  }

  private async sendHeartbeat(): Promise<void> {
    const session = this.session;
    if (!session || this.lifecycle === "REGISTERING") return;
    const body: HeartbeatRequest = {
      status: this.lifecycle === "DRAINING" ? "draining" : "active",
      // Tasks held under an older registration are not this id's leases.
      activeTaskIds: [
        ...new Set(
          [...this.runs.values()].filter((r) => r.owner.agentId === session.id).map((r) => r.task.id),
        ),
      ],
      load: this.runs.size / this.concurrency,
    };
    let res: HeartbeatResponse | undefined;
    try {
      res = await this.http.request<HeartbeatResponse>("POST", `/api/agents/${session.id}/heartbeat`, {
        token: session.token,
        body,
        retry: HEARTBEAT_RETRY,
        timeoutMs: Math.min(this.requestTimeoutMs, Math.max(1_000, session.heartbeatIntervalMs)),
      });
    } catch (err) {
      if (!isApiError(err, 401, 404)) throw err;
      if (this.lifecycle === "RUNNING") void this.reRegister(session);
      else
        this.logger.warn(
          { agentId: session.id, status: err.status },
          "daemon forgot the agent while draining",
        );
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
          this.logger.info({ command: command.type }, "daemon asked the agent to drain");
          if (command.type === "restart") this.restartRequested = true;
          // Heartbeats and cancel commands keep flowing while draining, so the daemon keeps control of stragglers.
          void this.stop({ graceMs: Number.POSITIVE_INFINITY });
          break;
        default:
          this.logger.debug({ command }, "ignoring unknown command");
      }
    }
  }

  private cancelTask(taskId: string, reason: string | undefined): void {
    let found = false;
    for (const run of [...this.runs.values()]) {
      if (run.task.id === taskId && run.cancel("cancelled", reason)) found = true;
    }
    this.logger[found ? "info" : "debug"]({ taskId, reason, found }, "cancel command");
  }

  private async shutdown(): Promise<void> {
    if (this.lifecycle === "INITIALIZED") {
      this.setState("STOPPED");
      return;
    }
    this.stopController.abort();
    await this.startPromise?.catch(() => {});
    if (this.lifecycle === "FAILED" || this.lifecycle === "STOPPED") return;
    if (!this.session) {
      this.finishStop();
      return;
    }
    this.setState("DRAINING");
    this.wake();
    await this.heartbeatNow();
    await Promise.race([this.idle(), this.graceOver]);
    const stragglers = [...this.runs.values()].filter((r) => r.running);
    if (stragglers.length > 0)
      this.logger.warn({ count: stragglers.length }, "grace period over; releasing tasks");
    await Promise.all(stragglers.map((r) => r.release()));
    await this.idle();
    await this.claimLoopDone;
    this.stopHeartbeats();
    await this.heartbeatInFlight;
    await this.deregister(this.session);
    this.finishStop();
  }

  private async deregister(session: Session): Promise<void> {
    try {
      await this.http.request("DELETE", `/api/agents/${session.id}`, { token: session.token });
      this.logger.info({ agentId: session.id }, "agent deregistered");
    } catch (err) {
      if (isApiError(err, 401, 404)) this.logger.info({ agentId: session.id }, "agent was already gone");
      else this.reportError(err, "deregister failed");
    }
  }

  private finishStop(): void {
    this.stopHeartbeats();
    if (this.graceTimer !== undefined) this.clock.clearTimeout(this.graceTimer);
    this.setState("STOPPED");
    if (this.restartRequested) this.safeEmit("restart");
  }

  /** Terminal failure: stop everything, hand leases back on a best-effort basis. */
  private failWith(err: unknown): void {
    this.setState("FAILED");
    this.stopController.abort();
    this.stopHeartbeats();
    this.wake();
    for (const run of this.runs.values()) void run.release();
    this.reportError(err, "agent failed");
  }

  private stopHeartbeats(): void {
    this.heartbeatsStopped = true;
    if (this.heartbeatTimer !== undefined) this.clock.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private shortenGrace(graceMs: number): void {
    // Beyond the timer range (Infinity included) means "no limit".
    if (!(graceMs < MAX_TIMER_MS)) return;
    const deadline = this.clock.now() + Math.max(0, graceMs);
    if (!(deadline < this.graceDeadline)) return;
    this.graceDeadline = deadline;
    if (this.graceTimer !== undefined) this.clock.clearTimeout(this.graceTimer);
    this.graceTimer = this.clock.setTimeout(() => this.graceExpired(), Math.max(0, graceMs));
  }

  /** Resolves once no task is in flight. */
  private idle(): Promise<void> {
    if (this.runs.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Wakes the claim loop (capacity changed) and, when nothing is in flight, idle waiters. */
  private wake(): void {
    const wakeClaimLoop = this.wakeClaimLoop;
    this.wakeClaimLoop = () => {};
    wakeClaimLoop();
    if (this.runs.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private setState(next: AgentLifecycleState): void {
    const previous = this.lifecycle;
    if (previous === next) return;
    this.lifecycle = next;
    this.logger.debug({ state: next, previous }, "agent state");
    this.safeEmit("state", next, previous);
  }

  /** Emits "error" only when someone listens, so an agent process never dies of an unhandled 'error' event. */
  private reportError(err: unknown, context: string): void {
    const error = err instanceof Error ? err : new Error(errorMessage(err));
    if (this.listenerCount("error") > 0) this.safeEmit("error", error);
    else this.logger.error({ err: error, context }, context);
  }

  // Listener exceptions must not break the agent's bookkeeping (most emits run in promise callbacks).
  private safeEmit<K extends keyof AgentEvents>(event: K, ...args: AgentEvents[K]): void {
    try {
      (this.emit as (event: string, ...args: unknown[]) => boolean)(event, ...args);
    } catch (err) {
      this.logger.error({ err, event }, "event listener threw");
    }
  }
}

function eventInfo(run: TaskRun): TaskEventInfo {
  const { task, owner } = run;
  return {
    taskId: task.id,
    type: task.type,
    attempt: task.attempt,
    leaseToken: task.leaseToken,
    agentId: owner.agentId,
  };
}

function unsupported(type: string): TaskHandler {
  return () => {
    // Retryable: another agent may well have this capability.
    throw new TaskError(`no handler for task type "${type}"`, { category: "unsupported", retryable: true });
  };
}
