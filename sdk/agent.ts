import { EventEmitter } from "node:events";
import { AgentHeartbeat } from "./agent-heartbeat.ts";
import { compileAgentOptions } from "./agent-options.ts";
import { AgentRegistration, type Session } from "./agent-registration.ts";
import type { AgentEvents, AgentLifecycleState, AgentOptions, AgentStats } from "./agent-types.ts";
import { ClaimLoop } from "./claim-loop.ts";
import { Deadline } from "./deadline.ts";
import { type ApiCaller, HttpClient } from "./http-client.ts";
import type { CallRecorder } from "./llm/call-recorder.ts";
import { LlmCallDelivery } from "./llm-call-delivery.ts";
import { errorMessage, type Logger } from "./runtime.ts";
import { SessionLink } from "./session-link.ts";
import { installSignalHandlers } from "./signals.ts";
import { TaskLauncher } from "./task-launcher.ts";
import { TaskTracker } from "./task-tracker.ts";

/** How long start() waits for the first session before claiming over HTTP instead. */
const SESSION_OPEN_WAIT_MS = 1_000;

/**
 * Supervised worker: registers with the Overseer daemon, heartbeats, claims tasks and runs their handlers.
 * The Agent owns the lifecycle and the events; registration (agent-registration.ts), heartbeats and
 * their commands (agent-heartbeat.ts), claiming (claim-loop.ts), starting tasks (task-launcher.ts)
 * and LLM call records (llm-call-delivery.ts) are parts it builds once and drives.
 */
export class Agent extends EventEmitter<AgentEvents> {
  /** Set when a restart command arrived; the "restart" event follows deregistration. */
  restartRequested = false;

  private readonly logger: Logger;
  private readonly shutdownGraceMs: number;
  private lifecycle: AgentLifecycleState = "INITIALIZED";
  /** Aborted when stopping or failing: ends the claim loop, pending long-poll, registration and sleeps. */
  private readonly stopController = new AbortController();
  private startPromise: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;
  /** When stop() gives up waiting for in-flight tasks. */
  private readonly grace: Deadline;
  private readonly registration: AgentRegistration;
  private readonly tasks: TaskTracker;
  /** Present only with AgentOptions.llm. */
  private readonly llmDelivery: LlmCallDelivery | undefined;
  private readonly claims: ClaimLoop;
  private readonly heartbeat: AgentHeartbeat;
  /** The session to the daemon, unless the agent was told to use HTTP only. */
  private readonly link: SessionLink | undefined;

  constructor(opts: AgentOptions) {
    super();
    const options = compileAgentOptions(opts);
    const { logger, clock, concurrency, requestTimeoutMs } = options;
    this.logger = logger;
    this.shutdownGraceMs = options.shutdownGraceMs;
    const http = new HttpClient(options.http);
    this.link = options.transport === "session" ? new SessionLink({ http, logger, clock }) : undefined;
    // Heartbeats, claims and lease reports go over the session while it is open; the rest is HTTP.
    const calls: ApiCaller = this.link ?? http;
    const signal = this.stopController.signal;
    const state = (): AgentLifecycleState => this.lifecycle;
    const reportError = (err: unknown, context: string): void => this.reportError(err, context);
    this.grace = new Deadline(clock);
    this.registration = new AgentRegistration({
      http,
      logger,
      clock,
      agentSecret: options.agentSecret,
      request: options.registration,
      signal,
      hooks: {
        state,
        registered: (info) => {
          const current = this.registration.current;
          if (current) this.link?.use(current);
          this.safeEmit("registered", info);
        },
        reRegistering: () => {
          this.setState("REGISTERING");
          // A long-poll still held under the stale id would keep this agent from claiming for up to claimWaitMs.
          this.claims.abortClaim();
        },
        reRegistered: () => {
          this.setState("RUNNING");
          this.heartbeat.schedule();
        },
        fail: (err) => this.failWith(err),
        reportError,
      },
    });
    this.tasks = new TaskTracker({
      clock,
      emit: (event, ...args) => this.safeEmit(event, ...args),
      reportError,
      onFinished: () => this.claims.wake(),
    });
    const llm = options.llm;
    this.llmDelivery = llm
      ? new LlmCallDelivery({
          client: llm,
          recordContent: options.recordLlmContent,
          recording: options.llmRecording,
          http,
          token: () => this.session?.token,
          logger,
          clock,
        })
      : undefined;
    const launcher = new TaskLauncher({
      http: calls,
      logger,
      clock,
      handlers: options.handlers,
      tasks: this.tasks,
      llmCalls: this.llmDelivery,
      signal,
      emitStart: (info) => this.safeEmit("task:start", info),
    });
    this.claims = new ClaimLoop({
      http: calls,
      clock,
      concurrency,
      claimWaitMs: options.claimWaitMs,
      requestTimeoutMs,
      registration: this.registration,
      tasks: this.tasks,
      launcher,
      signal,
      state,
      reportError,
    });
    this.heartbeat = new AgentHeartbeat({
      http: calls,
      logger,
      clock,
      concurrency,
      requestTimeoutMs,
      registration: this.registration,
      tasks: this.tasks,
      state,
      drain: (restart) => {
        if (restart) this.restartRequested = true;
        // Heartbeats and cancel commands keep flowing while draining, so the daemon keeps control of stragglers.
        void this.stop({ graceMs: Number.POSITIVE_INFINITY });
      },
      reportError,
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
    await this.link?.settled(SESSION_OPEN_WAIT_MS);
    if (this.stopController.signal.aborted) return;
    this.setState("RUNNING");
    this.heartbeat.schedule();
    this.llmDelivery?.start();
    this.claims.start();
  }

  /** The registration the agent acts under (a test outside the SDK reads its token). */
  private get session(): Session | undefined {
    return this.registration.current;
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
    this.claims.wake();
    await this.heartbeat.runNow();
    await Promise.race([this.tasks.idle(), this.grace.passed]);
    const stragglers = this.tasks.running();
    if (stragglers.length > 0) {
      this.logger.warn({ count: stragglers.length }, "grace period over; releasing tasks");
    }
    await Promise.all(stragglers.map((r) => r.release()));
    // Reports already under way (complete/fail) finish on their own.
    await this.tasks.idle();
    await this.claims.done;
    // Before deregistering: sending the records needs the token.
    await this.llmDelivery?.flushOnStop(this.grace);
    await this.heartbeat.stop();
    // The goodbye first: the daemon must not take the closing socket for a crash.
    await this.link?.close();
    await this.registration.deregister(this.session);
    this.finishStop();
  }

  private finishStop(): void {
    void this.heartbeat.stop();
    void this.link?.close();
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
    void this.link?.close();
    this.llmDelivery?.stop();
    this.claims.wake();
    for (const run of this.tasks.running()) void run.release();
    this.reportError(err, "agent failed");
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
