import { EventEmitter } from "node:events";
import { compileAgentOptions } from "./agent-options.ts";
import { AgentRegistration, MAX_ERROR_BACKOFF_MS, type Session } from "./agent-registration.ts";
import type { AgentEvents, AgentLifecycleState, AgentOptions, AgentStats } from "./agent-types.ts";
import { Deadline } from "./deadline.ts";
import { HttpClient, isApiError } from "./http-client.ts";
import type { CallRecorder } from "./llm/call-recorder.ts";
import { LlmCallDelivery } from "./llm-call-delivery.ts";
import { type Clock, errorMessage, type Logger, sleep } from "./runtime.ts";
import { SerialTimer } from "./serial-timer.ts";
import { installSignalHandlers } from "./signals.ts";
import { TaskLauncher } from "./task-launcher.ts";
import { TaskTracker } from "./task-tracker.ts";
import type { ClaimedTask, ClaimResponse, HeartbeatRequest, HeartbeatResponse } from "./types.ts";

// Guards against a hot loop when the daemon answers claims at once instead of long-polling.
const MIN_CLAIM_INTERVAL_MS = 100;
const HEARTBEAT_RETRY = { maxAttempts: 3 };

/** Supervised worker: registers with the Overseer daemon, heartbeats, claims tasks and runs their handlers. */
export class Agent extends EventEmitter<AgentEvents> {
  /** Set when a restart command arrived; the "restart" event follows deregistration. */
  restartRequested = false;

  private readonly http: HttpClient;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly concurrency: number;
  private readonly claimWaitMs: number;
  private readonly shutdownGraceMs: number;
  private readonly requestTimeoutMs: number;
  /** Present only with AgentOptions.llm. */
  private readonly llmDelivery: LlmCallDelivery | undefined;
  private readonly launcher: TaskLauncher;

  private lifecycle: AgentLifecycleState = "INITIALIZED";
  private readonly registration: AgentRegistration;
  private readonly tasks: TaskTracker;
  /** Aborted when stopping or failing: ends the claim loop, pending long-poll, registration and sleeps. */
  private readonly stopController = new AbortController();
  private startPromise: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;
  private claimLoopDone: Promise<void> = Promise.resolve();
  /** The pending claim long-poll; aborted on stop and when the registration it uses goes stale. */
  private claimController: AbortController | undefined;
  private readonly heartbeat: SerialTimer;
  /** When stop() gives up waiting for in-flight tasks. */
  private readonly grace: Deadline;
  private wakeClaimLoop: () => void = () => {};

  constructor(opts: AgentOptions) {
    super();
    const options = compileAgentOptions(opts);
    this.logger = options.logger;
    this.clock = options.clock;
    this.requestTimeoutMs = options.requestTimeoutMs;
    this.http = new HttpClient(options.http);
    this.stopController.signal.addEventListener("abort", () => this.claimController?.abort(), { once: true });
    this.registration = new AgentRegistration({
      http: this.http,
      logger: this.logger,
      clock: this.clock,
      agentSecret: options.agentSecret,
      request: options.registration,
      signal: this.stopController.signal,
      hooks: {
        state: () => this.lifecycle,
        registered: (info) => this.safeEmit("registered", info),
        reRegistering: () => {
          this.setState("REGISTERING");
          // A long-poll still held under the stale id would keep this agent from claiming for up to claimWaitMs.
          this.claimController?.abort();
        },
        reRegistered: () => {
          this.setState("RUNNING");
          this.heartbeat.schedule();
        },
        fail: (err) => this.failWith(err),
        reportError: (err, context) => this.reportError(err, context),
      },
    });
    this.heartbeat = new SerialTimer(
      this.clock,
      () => this.session?.heartbeatIntervalMs,
      () => this.sendHeartbeat().catch((err: unknown) => this.reportError(err, "heartbeat failed")),
    );
    this.grace = new Deadline(this.clock);
    this.tasks = new TaskTracker({
      clock: this.clock,
      emit: (event, ...args) => this.safeEmit(event, ...args),
      reportError: (err, context) => this.reportError(err, context),
      onFinished: () => this.wake(),
    });
    this.concurrency = options.concurrency;
    this.claimWaitMs = options.claimWaitMs;
    this.shutdownGraceMs = options.shutdownGraceMs;
    const llm = options.llm;
    this.llmDelivery = llm
      ? new LlmCallDelivery({
          client: llm,
          recordContent: options.recordLlmContent,
          recording: options.llmRecording,
          http: this.http,
          token: () => this.session?.token,
          logger: this.logger,
          clock: this.clock,
        })
      : undefined;
    this.launcher = new TaskLauncher({
      http: this.http,
      logger: this.logger,
      clock: this.clock,
      handlers: options.handlers,
      tasks: this.tasks,
      llmCalls: this.llmDelivery,
      signal: this.stopController.signal,
      emitStart: (info) => this.safeEmit("task:start", info),
    });
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
    return this.tasks.size;
  }

  /** Counters of task outcomes (a live object). */
  get stats(): AgentStats {
    return this.tasks.stats;
  }

  /** Records of the calls handlers made through `ctx.llm`; undefined without AgentOptions.llm. */
  get llmCalls(): CallRecorder | undefined {
    return this.llmDelivery?.recorder;
  }

  /** Registers, then heartbeats and claims in the background; rejects (state FAILED) when registration fails. */
  start(): Promise<void> {
    this.startPromise ??= this.doStart();
    return this.startPromise;
  }

  /** Drains: stops claiming, lets in-flight tasks run up to graceMs, releases the rest, deregisters. Idempotent. */
  stop(opts: { graceMs?: number } = {}): Promise<void> {
    // A later call may only shorten the grace period (a second SIGINT, say).
    this.grace.shorten(opts.graceMs ?? this.shutdownGraceMs);
    this.stopPromise ??= this.shutdown().catch((err: unknown) => this.reportError(err, "shutdown failed"));
    return this.stopPromise;
  }

  /** On SIGTERM/SIGINT: stop() and then, unless `exit` is false, exit the process. Returns an uninstaller. */
  installSignalHandlers(opts: { exit?: boolean; signals?: NodeJS.Signals[] } = {}): () => void {
    return installSignalHandlers(this, this.logger, opts);
  }

  private async doStart(): Promise<void> {
    if (this.lifecycle !== "INITIALIZED") throw new Error(`cannot start an agent in state ${this.lifecycle}`);
    this.setState("REGISTERING");
    try {
      await this.registration.register();
    } catch (err) {
      if (this.stopController.signal.aborted) return;
      this.setState("FAILED");
      this.stopController.abort();
      throw err;
    }
    if (this.stopController.signal.aborted) return;
    this.setState("RUNNING");
    this.heartbeat.schedule();
    this.llmDelivery?.start();
    this.claimLoopDone = this.claimLoop().catch((err: unknown) =>
      this.reportError(err, "claim loop crashed"),
    );
  }

  /** The registration the agent acts under (a test outside the SDK reads its token). */
  private get session(): Session | undefined {
    return this.registration.current;
  }

  private async claimLoop(): Promise<void> {
    const signal = this.stopController.signal;
    let failures = 0;
    while (!signal.aborted) {
      if (this.lifecycle === "REGISTERING") {
        await (this.registration.pending ?? sleep(this.clock, MIN_CLAIM_INTERVAL_MS, signal));
        continue;
      }
      if (this.lifecycle !== "RUNNING") break;
      const free = this.concurrency - this.tasks.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => {
          this.wakeClaimLoop = resolve;
        });
        continue;
      }
      const session = this.session!;
      const startedAt = this.clock.now();
      let tasks: ClaimedTask[];
      const claim = new AbortController();
      this.claimController = claim;
      try {
        const res = await this.http.request<ClaimResponse>("POST", `/api/agents/${session.id}/claim`, {
          token: session.token,
          body: { max: free, waitMs: this.claimWaitMs },
          signal: claim.signal,
          timeoutMs: this.claimWaitMs + this.requestTimeoutMs,
        });
        tasks = Array.isArray(res?.tasks) ? res.tasks : [];
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        if (claim.signal.aborted) continue;
        if (isApiError(err, 401, 404)) {
          await this.registration.reRegister(session);
          continue;
        }
        this.reportError(err, "claim failed");
        await sleep(this.clock, Math.min(MAX_ERROR_BACKOFF_MS, 250 * 2 ** failures++), signal);
        continue;
      } finally {
        this.claimController = undefined;
      }
      // More than asked for would overrun `concurrency`: hand the extra leases straight back.
      for (const [i, task] of tasks.entries()) this.launcher.accept(task, session, i >= free);
      const elapsed = this.clock.now() - startedAt;
      if (tasks.length === 0 && elapsed < MIN_CLAIM_INTERVAL_MS) {
        await sleep(this.clock, MIN_CLAIM_INTERVAL_MS - elapsed, signal);
      }
    }
  }

  private async sendHeartbeat(): Promise<void> {
    const session = this.session;
    if (!session || this.lifecycle === "REGISTERING") return;
    const body: HeartbeatRequest = {
      status: this.lifecycle === "DRAINING" ? "draining" : "active",
      // Tasks held under an older registration are not this id's leases.
      activeTaskIds: this.tasks.taskIdsOf(session.id),
      load: this.tasks.size / this.concurrency,
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
      if (this.lifecycle === "RUNNING") {
        void this.registration.reRegister(session);
      } else {
        this.logger.warn(
          { agentId: session.id, status: err.status },
          "daemon forgot the agent while draining",
        );
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
    const found = this.tasks.cancel(taskId, reason);
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
    await this.heartbeat.runNow();
    await Promise.race([this.tasks.idle(), this.grace.passed]);
    const stragglers = this.tasks.running();
    if (stragglers.length > 0) {
      this.logger.warn({ count: stragglers.length }, "grace period over; releasing tasks");
    }
    await Promise.all(stragglers.map((r) => r.release()));
    // Reports already under way (complete/fail) finish on their own.
    await this.tasks.idle();
    await this.claimLoopDone;
    // Before deregistering: sending the records needs the token.
    await this.llmDelivery?.flushOnStop(this.grace);
    await this.heartbeat.stop();
    await this.registration.deregister(this.session);
    this.finishStop();
  }

  private finishStop(): void {
    void this.heartbeat.stop();
    this.llmDelivery?.stop();
    this.grace.dispose();
    this.setState("STOPPED");
    if (this.restartRequested) this.safeEmit("restart");
  }

  /** Terminal failure: stop everything, hand leases back on a best-effort basis. */
  private failWith(err: unknown): void {
    this.setState("FAILED");
    this.stopController.abort();
    void this.heartbeat.stop();
    this.llmDelivery?.stop();
    this.wake();
    for (const run of this.tasks.running()) void run.release();
    this.reportError(err, "agent failed");
  }

  /** Wakes the claim loop when it waits for free capacity. */
  private wake(): void {
    const wakeClaimLoop = this.wakeClaimLoop;
    this.wakeClaimLoop = () => {};
    wakeClaimLoop();
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
