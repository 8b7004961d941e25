import { type ApiCaller, isApiError } from "./http-client.ts";
import type { TaskLlm } from "./llm/task-llm.ts";
import { type Clock, errorMessage, type Logger, type TimerHandle, withBindings } from "./runtime.ts";
import { openConversation, pipelineStepOf, type TaskConversation } from "./task-conversation.ts";
import { normalizeFailure, type TaskAbortCause, TaskAbortedError, toTaskFailure } from "./task-error.ts";
import { TaskSpan } from "./task-span.ts";
import type { ClaimedTask, TaskFailure } from "./types.ts";

/** What a handler gets to work with. */
export interface TaskContext {
  readonly id: string;
  readonly type: string;
  readonly payload: unknown;
  readonly attempt: number;
  /** Fires on cancel, lease loss, timeout or shutdown; the result is then dropped, so stop working. */
  readonly signal: AbortSignal;
  /** Reports progress; also checks the lease (on loss `signal` aborts). Never rejects. */
  progress(percent?: number, message?: string): Promise<void>;
  readonly log: Logger;
  /**
   * The agent's LLM client (AgentOptions.llm) bound to `signal`; every call is recorded with this
   * task (and its pipeline run and step). Undefined when the agent has no LLM client.
   */
  readonly llm?: TaskLlm;
  /**
   * Opens a conversation on the pipeline step this task runs for (rejects for a task that is not a
   * pipeline step). Pass its id to `ctx.llm.complete(request, {conversationId})`.
   */
  conversation(title: string): Promise<TaskConversation>;
}

/** Runs one task; the return value is the result, a throw fails the task (see TaskError). */
export type TaskHandler = (ctx: TaskContext) => Promise<unknown> | unknown;

/** The registration a lease was granted to; reports about the task must use its token even after a re-register. */
export interface LeaseOwner {
  agentId: string;
  token: string;
}

/**
 * Why a task ended without a result the daemon accepted:
 * - "revoked": the daemon answered 409/404/401, the lease belongs to no one or someone else;
 * - "cancelled": a cancel command arrived;
 * - "unreported": the report could not be delivered (retries exhausted or rejected), the lease will expire.
 */
export type LostReason = "revoked" | "cancelled" | "unreported";

/** How a task run ended. */
export type TaskOutcome =
  | { kind: "completed"; result: unknown }
  | { kind: "failed"; error: TaskFailure }
  | { kind: "lost"; reason: LostReason; message?: string; error?: unknown }
  | { kind: "released" };

export interface TaskRunDeps {
  http: ApiCaller;
  logger: Logger;
  clock: Clock;
  /** Builds `ctx.llm` for a run; absent when the agent has no LLM client. */
  llm?: (run: { taskId: string; payload: unknown; signal: AbortSignal }) => TaskLlm;
  /**
   * Runs before the result is reported: the agent delivers the task's LLM call records first, so
   * whatever reads them next (a pipeline's budget step) sees the spend. Must not throw.
   */
  beforeReport?: () => Promise<void>;
}

// Answers meaning "this lease is not yours (any more)".
const LEASE_GONE = [409, 404, 401];
// Progress is advisory: do not keep a handler waiting for long when the daemon is unreachable.
const PROGRESS_RETRY = { maxAttempts: 2 };
// The daemon rejects longer progress messages.
const MAX_PROGRESS_MESSAGE = 2_000;

/**
 * One leased task from handler start to the single report the daemon accepts.
 * The phase guards that exactly one of complete/fail/release is sent, and none after an abort.
 */
export class TaskRun {
  readonly task: ClaimedTask;
  readonly owner: LeaseOwner;
  /** Resolves once, when the run is over; never rejects. */
  readonly outcome: Promise<TaskOutcome>;
  readonly startedAt: number;
  private phase: "running" | "reporting" | "finished" = "running";
  private readonly controller = new AbortController();
  private readonly handler: TaskHandler;
  private readonly deps: TaskRunDeps;
  private log: Logger;
  /** The handler span (overseer.task.handle), from start(). */
  private span: TaskSpan | undefined;
  private resolveOutcome!: (outcome: TaskOutcome) => void;
  private timeoutTimer: TimerHandle | undefined;

  constructor(task: ClaimedTask, owner: LeaseOwner, handler: TaskHandler, deps: TaskRunDeps) {
    this.task = task;
    this.owner = owner;
    this.handler = handler;
    this.deps = deps;
    this.startedAt = deps.clock.now();
    this.log = withBindings(deps.logger, { taskId: task.id, taskType: task.type, attempt: task.attempt });
    this.outcome = new Promise((resolve) => {
      this.resolveOutcome = resolve;
    });
  }

  /** True until the handler's result (or abort) has been decided. */
  get running(): boolean {
    return this.phase === "running";
  }

  /** Starts the handler and the task's timeout. */
  start(): void {
    const timeoutMs = this.task.timeoutMs;
    if (typeof timeoutMs === "number" && timeoutMs > 0) {
      this.timeoutTimer = this.deps.clock.setTimeout(() => this.onTimeout(timeoutMs), timeoutMs);
    }
    const span = new TaskSpan(this.task, this.owner.agentId, pipelineStepOf(this.task.payload) ?? null);
    this.span = span;
    const bindings = span.logBindings();
    if (bindings.trace_id) this.log = withBindings(this.log, bindings);
    const ctx: TaskContext = {
      id: this.task.id,
      type: this.task.type,
      payload: this.task.payload,
      attempt: this.task.attempt,
      signal: this.controller.signal,
      progress: (percent, message) => this.progress(percent, message),
      log: this.log,
      conversation: (title) => {
        const step = pipelineStepOf(this.task.payload);
        if (!step) return Promise.reject(new Error(`task ${this.task.id} is not a pipeline step`));
        return openConversation(
          { http: this.deps.http, token: this.owner.token, signal: this.controller.signal },
          step,
          title,
        );
      },
      ...(this.deps.llm
        ? {
            llm: this.deps.llm({
              taskId: this.task.id,
              payload: this.task.payload,
              signal: this.controller.signal,
            }),
          }
        : {}),
    };
    // A microtask hop lets the caller finish its bookkeeping before a synchronous handler runs.
    // The handler runs with its span active, so spans it makes (ctx.llm calls) are children of it.
    Promise.resolve()
      .then(() => span.run(() => this.handler(ctx)))
      .then(
        (result) => this.onReturned(result),
        (err: unknown) => this.onThrew(err),
      );
  }

  /** Aborts the handler without reporting anything (the daemon already took the lease back). */
  cancel(reason: LostReason, message?: string): boolean {
    if (!this.running) return false;
    const cause: TaskAbortCause = reason === "cancelled" ? "cancelled" : "revoked";
    this.abort(cause, message ?? `task ${reason}`);
    this.finish({ kind: "lost", reason, message });
    return true;
  }

  /** Aborts the handler and hands the task back to the queue without spending an attempt. */
  async release(): Promise<void> {
    if (!this.running) return;
    this.abort("shutdown", "agent is shutting down");
    this.phase = "reporting";
    await this.report("release", { leaseToken: this.task.leaseToken }, { kind: "released" });
  }

  private async progress(percent?: number, message?: string): Promise<void> {
    if (!this.running) return;
    const body: { leaseToken: string; percent?: number; message?: string } = {
      leaseToken: this.task.leaseToken,
    };
    if (typeof percent === "number" && Number.isFinite(percent))
      body.percent = Math.min(100, Math.max(0, percent));
    if (message !== undefined) body.message = String(message).slice(0, MAX_PROGRESS_MESSAGE);
    try {
      await this.deps.http.request("POST", this.path("progress"), {
        token: this.owner.token,
        body,
        retry: PROGRESS_RETRY,
      });
    } catch (err) {
      if (isApiError(err, ...LEASE_GONE)) {
        this.log.warn({ status: err.status, code: err.code }, "lease lost while reporting progress");
        this.cancel("revoked", err.message);
      } else {
        this.log.warn({ err }, "progress report failed");
      }
    }
  }

  private onReturned(result: unknown): void {
    this.span?.end(this.running ? "completed" : "dropped");
    if (!this.running) {
      this.log.debug("handler returned after the task ended; result dropped");
      return;
    }
    this.phase = "reporting";
    this.clearTimeout();
    try {
      JSON.stringify(result);
    } catch (err) {
      // Would fail inside the HTTP client and look like a transport error; report it as what it is.
      const error = {
        message: `result is not serializable: ${errorMessage(err)}`,
        category: "serialization",
      };
      void this.sendFailure({ ...error, retryable: false });
      return;
    }
    const body =
      result === undefined
        ? { leaseToken: this.task.leaseToken, ...this.traceparent() }
        : { leaseToken: this.task.leaseToken, result, ...this.traceparent() };
    void this.report("complete", body, { kind: "completed", result });
  }

  private onThrew(err: unknown): void {
    this.span?.end(this.running ? "failed" : "dropped", {
      err,
      type: this.running ? (toTaskFailure(err).category ?? "unknown") : "aborted",
    });
    if (!this.running) {
      this.log.debug({ err }, "handler threw after the task ended");
      return;
    }
    this.phase = "reporting";
    this.clearTimeout();
    void this.sendFailure(toTaskFailure(err));
  }

  private onTimeout(timeoutMs: number): void {
    this.timeoutTimer = undefined;
    if (!this.running) return;
    const message = `task timed out after ${timeoutMs} ms`;
    this.span?.end("timed_out", { err: new Error(message), type: "timeout" });
    this.abort("timeout", message);
    this.phase = "reporting";
    // The daemon revokes the lease too; whichever comes first wins and the other side sees 409.
    void this.sendFailure({ message, category: "timeout", retryable: true });
  }

  private sendFailure(failure: TaskFailure): Promise<void> {
    const error = normalizeFailure(failure);
    return this.report(
      "fail",
      { leaseToken: this.task.leaseToken, error, ...this.traceparent() },
      { kind: "failed", error },
    );
  }

  /** The handler span's traceparent for complete/fail, recorded on the daemon's attempt. */
  private traceparent(): { traceparent?: string } {
    const traceparent = this.span?.traceparent();
    return traceparent ? { traceparent } : {};
  }

  private async report(action: string, body: unknown, success: TaskOutcome): Promise<void> {
    if (this.deps.beforeReport) await this.deps.beforeReport();
    try {
      await this.deps.http.request("POST", this.path(action), { token: this.owner.token, body });
      this.finish(success);
    } catch (err) {
      if (isApiError(err, ...LEASE_GONE)) {
        this.log.info({ action, status: err.status, code: err.code }, "lease revoked; report dropped");
        this.finish({ kind: "lost", reason: "revoked", message: err.message });
      } else {
        this.log.warn({ action, err }, "report could not be delivered; the lease will expire");
        this.finish({ kind: "lost", reason: "unreported", message: errorMessage(err), error: err });
      }
    }
  }

  private path(action: string): string {
    return `/api/tasks/${encodeURIComponent(this.task.id)}/${action}`;
  }

  private abort(cause: TaskAbortCause, message: string): void {
    this.clearTimeout();
    if (!this.controller.signal.aborted) this.controller.abort(new TaskAbortedError(cause, message));
  }

  private clearTimeout(): void {
    if (this.timeoutTimer === undefined) return;
    this.deps.clock.clearTimeout(this.timeoutTimer);
    this.timeoutTimer = undefined;
  }

  private finish(outcome: TaskOutcome): void {
    if (this.phase === "finished") return;
    this.phase = "finished";
    // A handler still running when the run ended (cancelled, revoked, released) ends its span here.
    this.span?.end(outcome.kind === "lost" ? outcome.reason : outcome.kind);
    this.clearTimeout();
    this.resolveOutcome(outcome);
  }
}
