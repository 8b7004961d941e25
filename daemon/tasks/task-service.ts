import { randomUUID } from "node:crypto";
import { MAX_PRIORITY } from "../../contract/schemas/common.ts";
import { MAX_BATCH_TASKS } from "../../contract/schemas/tasks.ts";
import { OverseerError } from "../errors/overseer-error.ts";
import type { EventBus } from "../events/event-bus.ts";
import { currentTerm } from "../leader/fence-context.ts";
import { auditLog } from "../store/audit-log.ts";
import { type Db, withTransaction } from "../store/pg-pool.ts";
import type { HeartbeatStore } from "../store/redis/heartbeat-store.ts";
import type { ReadySignal } from "../store/redis/ready-signal.ts";
import type { TaskQueues } from "../store/redis/task-queues.ts";
import type { CompletionInput } from "../store/task-claim-store.ts";
import type { EnqueueOrder, Lease, TaskView } from "../store/task-rows.ts";
import type { AttemptEnd, CompletedTask, TaskStore } from "../store/task-store.ts";
import { traceSpans } from "../telemetry/tracing.ts";
import {
  announceAttemptEnd,
  announceCompletion,
  type EndContext,
  traceAttemptEnd,
} from "./attempt-end-events.ts";
import { GroupCommit } from "./group-commit.ts";
import { lockTaskForOperator } from "./operator-lock.ts";
import type { TaskDispatch } from "./task-dispatch.ts";
import type { ClaimPolicy, TaskOutcomePort } from "./task-ports.ts";

/** At most this many completions share one statement (results can be large; a batch stays small). */
const MAX_COMPLETIONS_PER_COMMIT = 256;

export interface SubmitInput {
  type: string;
  payload: unknown;
  priority?: number;
  maxAttempts?: number;
  timeoutMs?: number;
  idempotencyKey?: string;
}

export interface SubmitResult {
  id: string;
  created: boolean;
  state: string;
}

export interface TaskDefaults {
  maxAttempts: number;
  timeoutMs: number;
}

export interface ClaimingAgent {
  id: string;
  /** Registration name: quarantine is keyed by it (the id changes on every registration). */
  name: string;
  capabilities: string[];
}

/**
 * Task lifecycle over the stores: Postgres decides (conditional writes with fencing tokens), the
 * BullMQ queues carry dispatch, and every outcome is one event on the bus.
 */
export class TaskService {
  private rotation = 0;
  private stopping = false;

  constructor(
    /** For the operator retry's transaction (the requeue and its audit record commit together). */
    private readonly db: Db,
    private readonly store: TaskStore,
    private readonly queues: TaskQueues,
    private readonly dispatcher: TaskDispatch,
    private readonly ready: ReadySignal,
    private readonly liveness: HeartbeatStore,
    private readonly bus: EventBus,
    private readonly defaults: TaskDefaults,
    private readonly claims: ClaimPolicy,
    private readonly outcomes: TaskOutcomePort,
    private readonly onError: (error: unknown, context: string) => void,
    private readonly newId: () => string = randomUUID,
  ) {}

  /** Submits arriving while a commit is in flight share the next one (group-commit.ts). */
  private readonly intake = new GroupCommit<SubmitInput, SubmitResult>(
    (inputs) => this.submitMany(inputs),
    MAX_BATCH_TASKS,
  );

  /**
   * Completions arriving while one is in flight share the next statement, as submits do: with 64
   * agents' slots finishing together, one statement completes many tasks. Each report still gets
   * its own answer (a stale lease's 409 is that report's alone).
   */
  private readonly completions = new GroupCommit<CompletionInput, CompletedTask | OverseerError>(
    (inputs) => this.store.completeMany(inputs),
    MAX_COMPLETIONS_PER_COMMIT,
  );

  /**
   * Commits the task to Postgres (with the submits that arrived meanwhile, in one statement), then
   * queues it; a lost enqueue is repaired by the reconciler.
   */
  submit(input: SubmitInput): Promise<SubmitResult> {
    // A leader pass's submit (the canary) commits on its own, fenced by its term: in a shared
    // commit it would fence the API's submits with it, or go unfenced in theirs.
    if (currentTerm() !== undefined) return this.submitMany([input]).then((r) => r[0] as SubmitResult);
    return this.intake.submit(input);
  }

  /**
   * Commits every task in one statement (all or none), then queues the new ones in one round trip
   * per type; answers per task, in order, as submit does.
   */
  async submitMany(inputs: SubmitInput[]): Promise<SubmitResult[]> {
    const tasks = inputs.map((input) => ({
      id: this.newId(),
      type: input.type,
      payload: input.payload,
      priority: input.priority ?? 0,
      maxAttempts: input.maxAttempts ?? this.defaults.maxAttempts,
      timeoutMs: input.timeoutMs ?? this.defaults.timeoutMs,
      idempotencyKey: input.idempotencyKey ?? null,
    }));
    const results = await this.store.insertMany(tasks);
    const fresh = tasks.filter((_, i) => results[i]?.created);
    await this.dispatcher.afterInsert(fresh);
    return results;
  }

  /**
   * Long-poll claim: leases up to `max` tasks of the agent's capabilities, waiting up to `waitMs`
   * for work. Types are tried in rotation so one busy type cannot starve another.
   */
  async claim(agent: ClaimingAgent, max: number, waitMs: number, signal: AbortSignal): Promise<Lease[]> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const leases = await this.tryClaim(agent, max);
      const remaining = deadline - Date.now();
      if (leases.length > 0 || remaining <= 0 || signal.aborted || this.stopping) {
        if (leases.length > 0 && signal.aborted) {
          // The agent hung up before it could learn of these leases: hand them straight back.
          await Promise.all(leases.map((l) => this.release(l.id, l.leaseToken, agent.id).catch(() => {})));
          return [];
        }
        return leases;
      }
      // A delayed retry is notified when due by the replica that queued it (ReadySignal.notifyWhenDue);
      // the once-a-second poll covers one whose replica stopped first, or one past the timer cap.
      await this.ready.wait(agent.capabilities, Math.min(remaining, 1_000), signal);
    }
  }

  /** A lease just granted: its attempt's traceparent for the agent, and the `task.claimed` event. */
  private granted(lease: Lease, agentId: string): Lease {
    const traceparent = traceSpans.attemptTraceparent(lease.id, lease.traceParent, lease.attempt);
    if (traceparent) lease.traceparent = traceparent;
    traceSpans.inAttempt(lease.id, lease.traceParent, lease.attempt, () =>
      this.bus.emit("task.claimed", {
        taskId: lease.id,
        taskType: lease.type,
        agentId,
        attempt: lease.attempt,
        queueWaitMs: lease.queueWaitMs,
      }),
    );
    return lease;
  }

  private async tryClaim(agent: ClaimingAgent, max: number): Promise<Lease[]> {
    const leases: Lease[] = [];
    const policy = this.claims;
    if (policy.dispatchPaused() || policy.isQuarantined(agent.name)) return leases;
    // Tasks of a type whose circuit is open stay queued in BullMQ until it closes.
    const types = agent.capabilities.filter((t) => !policy.isCircuitOpen(t));
    // Tasks an operator reassigned to this agent come first; one that is no longer queued (another
    // agent took it from its queue meanwhile) is simply skipped, and so is one whose type's circuit
    // is open: it stays queued, and the reconciler puts it back on its type's queue.
    const directed = (await policy.takeDirected(agent.id, max).catch(() => []))
      .filter(({ type }) => type === null || !policy.isCircuitOpen(type))
      .map(({ taskId }) => taskId);
    for (const lease of await this.store.leaseMany(directed, agent.id))
      leases.push(this.granted(lease, agent.id));
    const start = this.rotation++ % Math.max(1, types.length);
    const token = this.newId();
    const acks: Array<Promise<void>> = [];
    try {
      for (let i = 0; i < types.length && leases.length < max && !this.stopping; i++) {
        const type = types[(start + i) % types.length] as string;
        // One take of many jobs, one statement leasing them all, then their acknowledgements together.
        const want = max - leases.length;
        const jobs = await this.queues.takeMany(type, token, want);
        if (jobs.length === 0) continue;
        const granted = await this.store.leaseMany(
          jobs.map((j) => j.taskId),
          agent.id,
        );
        for (const job of jobs) acks.push(job.ack().catch((e) => this.onError(e, "ack dispatch job")));
        for (const lease of granted) leases.push(this.granted(lease, agent.id));
        if (granted.length < jobs.length) {
          // Either a dispatch copy was stale (task no longer queued: drop it) or this agent stopped
          // being live mid-claim: then its tasks must go straight back, not wait for the reconciler.
          const leased = new Set(granted.map((l) => l.id));
          const still = await this.store.queuedOrders(
            jobs.map((j) => j.taskId).filter((id) => !leased.has(id)),
          );
          if (still.length > 0) {
            // They were at the head of their queue: put them back there (the rescue lane), not behind
            // every task queued since.
            await this.dispatcher.dispatch(still.map((order) => ({ ...order, lane: "rescue" as const })));
            break;
          }
        }
        // Fewer than asked for: that queue had no more ready.
        if (jobs.length < want) continue;
        i--; // The queue may hold more: take from this type again.
      }
    } finally {
      await Promise.all(acks);
    }
    return this.noteLeases(agent.id, leases);
  }

  private async noteLeases(agentId: string, leases: Lease[]): Promise<Lease[]> {
    if (leases.length > 0) {
      await this.liveness
        .addLeases(
          agentId,
          leases.map((l) => l.id),
        )
        .catch((e) => this.onError(e, "note leases"));
    }
    return leases;
  }

  async progress(
    id: string,
    leaseToken: string,
    agentId: string,
    percent?: number,
    message?: string,
  ): Promise<void> {
    try {
      const { type } = await this.store.progress(id, leaseToken, agentId, percent, message);
      this.bus.emit("task.progress", { taskId: id, taskType: type, agentId, percent, message });
      this.outcomes.taskProgressed({ taskId: id, taskType: type, percent, message });
    } catch (error) {
      this.noteConflict(error, id, "progress");
      throw error;
    }
  }

  async complete(
    id: string,
    leaseToken: string,
    agentId: string,
    result: unknown,
    traceparent?: string,
  ): Promise<void> {
    try {
      const done = await this.completions.submit({
        taskId: id,
        leaseToken,
        agentId,
        result,
        traceparent: traceparent ?? null,
      });
      if (done instanceof Error) throw done;
      if (done.repeated) return;
      announceCompletion(this.bus, this.outcomes, {
        taskId: id,
        agentId,
        done,
        agentTraceparent: traceparent,
      });
      await this.liveness.removeLease(agentId, id).catch((e) => this.onError(e, "forget lease"));
    } catch (error) {
      this.noteConflict(error, id, "complete");
      throw error;
    }
  }

  async fail(
    id: string,
    leaseToken: string,
    agentId: string,
    error: { message: string; category?: string; retryable?: boolean },
    traceparent?: string,
  ): Promise<AttemptEnd> {
    try {
      const end = await this.store.endAttemptByLease(
        id,
        leaseToken,
        agentId,
        "failed",
        {
          message: error.message,
          category: error.category ?? "unknown",
          retryable: error.retryable ?? true,
        },
        traceparent ?? null,
      );
      await this.afterAttemptEnds([end], "agent_failure", traceparent);
      return end;
    } catch (e) {
      this.noteConflict(e, id, "fail");
      throw e;
    }
  }

  /** Hands a task back without counting an attempt (graceful agent shutdown). */
  async release(id: string, leaseToken: string, agentId: string): Promise<void> {
    try {
      const end = await this.store.endAttemptByLease(id, leaseToken, agentId, "released", null);
      await this.afterAttemptEnds([end], "released");
    } catch (e) {
      this.noteConflict(e, id, "release");
      throw e;
    }
  }

  /**
   * Operator retry of a dead or failed task (both retry routes, and auto-heal): a fresh attempt
   * budget and the priority moved by `priorityBoost` (kept within 0..MAX_PRIORITY). The requeue and
   * its `task.retry` audit record commit in one transaction. 404 for an unknown task, 409 for one
   * that is not dead or failed.
   */
  async retryByOperator(
    taskId: string,
    input: { reason?: string | null; priorityBoost?: number },
    caller: { actor: string; requestId: string | null },
  ): Promise<{
    taskId: string;
    state: "queued";
    type: string;
    from: string;
    priorityBefore: number;
    priority: number;
  }> {
    const boost = input.priorityBoost ?? 0;
    const done = await withTransaction(this.db, async (tx) => {
      const row = await lockTaskForOperator(
        this.store,
        tx,
        taskId,
        ["dead", "failed"],
        (state) => `task ${taskId} is ${state}; only dead or failed tasks can be retried`,
      );
      const priority = Math.min(MAX_PRIORITY, Math.max(0, row.priority + boost));
      await this.store.requeueForRetry(tx, taskId, priority);
      await auditLog.record(tx, {
        actor: caller.actor,
        action: "task.retry",
        targetKind: "task",
        targetId: taskId,
        reason: input.reason ?? null,
        requestId: caller.requestId,
        impact: { from: row.state, priorityBefore: row.priority, priority },
        data: { type: row.type, priorityBoost: boost },
      });
      return { type: row.type, from: row.state, priorityBefore: row.priority, priority };
    });
    this.bus.emit("task.retried_by_operator", { taskId, taskType: done.type });
    this.bus.emit("operator.action", {
      actor: caller.actor,
      action: "task.retry",
      targetKind: "task",
      targetId: taskId,
    });
    await this.dispatcher.dispatch([{ id: taskId, type: done.type, priority: done.priority, delayMs: 0 }]);
    return { taskId, state: "queued", ...done };
  }

  /**
   * Releases every lease the agent holds, not counted as attempts (a restart or drain): the tasks
   * are queued again at once. Returns their ids.
   */
  async releaseLeasesOf(agentId: string, reason: string): Promise<string[]> {
    const ends = await this.store.releaseLeasesOfAgent(agentId, reason);
    await this.afterAttemptEnds(ends, "released");
    return ends.map((e) => e.taskId);
  }

  async get(id: string): Promise<TaskView> {
    const task = await this.store.get(id);
    if (!task) throw new OverseerError("OVS_ERR_TASK_NOT_FOUND", `no task ${id}`);
    return task;
  }

  /** Ends leases that overran their task's timeout; returns how many. */
  async expireOverdue(): Promise<number> {
    const ends = await this.store.expireOverdueLeases();
    for (const end of ends) {
      await this.liveness
        .pushCommand(end.agentId, { type: "cancel", taskId: end.taskId, reason: "timed_out" })
        .catch((e) => this.onError(e, "push cancel"));
    }
    await this.afterAttemptEnds(ends, "timed_out");
    return ends.length;
  }

  /**
   * Emits the events and spans for ended attempts and queues what must run again. `context` says why
   * the attempts ended, for the requeue reason. Every path that commits an attempt's end (other than
   * completion) calls this once, on the replica that committed it, so each span is emitted once.
   */
  async afterAttemptEnds(ends: AttemptEnd[], context: EndContext, agentTraceparent?: string): Promise<void> {
    const orders: Array<EnqueueOrder & { firstQueuedAt: number }> = [];
    for (const end of ends) traceAttemptEnd(end, agentTraceparent);
    for (const end of ends) {
      // In the attempt's span context: the log lines of these events carry its trace and span ids.
      const order = traceSpans.inAttempt(end.taskId, end.traceParent, end.attempt, () =>
        announceAttemptEnd(this.bus, this.outcomes, end, context),
      );
      if (order) orders.push({ ...order, firstQueuedAt: end.createdAt.getTime() });
      if (context !== "agent_dead" && context !== "agent_left") {
        await this.liveness
          .removeLease(end.agentId, end.taskId)
          .catch((e) => this.onError(e, "forget lease"));
      }
    }
    // A dead agent's tasks come back together (in id order): queue them in the order they were
    // first queued, so the rescue lane stays first-queued-first within one batch.
    orders.sort((a, b) => a.firstQueuedAt - b.firstQueuedAt);
    await this.dispatcher.dispatch(orders.map(({ firstQueuedAt: _, ...order }) => order));
  }

  /** Stops handing out work: waiting claims return empty at once. */
  stopClaiming(): void {
    this.stopping = true;
    this.ready.wakeAll();
  }

  private noteConflict(
    error: unknown,
    taskId: string,
    operation: "progress" | "complete" | "fail" | "release",
  ): void {
    if (error instanceof OverseerError && error.code === "OVS_ERR_LEASE_CONFLICT") {
      this.bus.emit("lease.conflict", { taskId, operation });
    }
  }
}
