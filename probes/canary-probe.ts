import { randomUUID } from "node:crypto";
import { TASK_TYPE_PATTERN } from "../contract/schemas/common.ts";
import { CANARY_TYPE_PREFIX, type CanaryResult } from "../contract/schemas/system.ts";
import type { EventBus } from "../daemon/events/event-bus.ts";
import { type CanaryInFlight, canaryTaskType, decideCanary } from "./canary-decision.ts";

export type { CanaryResult };

/** Roles probed at most; role names come from agents, so the metric labels stay bounded. */
export const CANARY_MAX_ROLES = 100;
/** A role stays probed this long after its last canary-capable agent was heard from. */
export const CANARY_ROLE_WINDOW_MS = 3_600_000;
/** Canaries jump the queue: they test whether an agent of the role answers, not the backlog. */
const CANARY_PRIORITY = 1_000;
const TYPE_RE = new RegExp(TASK_TYPE_PATTERN);

/** A canary task as Postgres has it (state, and ages on the Postgres clock). */
export type CanaryTaskSeen = CanaryInFlight & { type: string; state: string };

/** The canary's tasks (daemon/health/canary-tasks.ts): Postgres holds the truth about each one. */
export interface CanaryTasksPort {
  /** Roles with a canary-capable agent live or heard from within `windowMs`, at most `limit`. */
  probedRoles(windowMs: number, limit: number): Promise<string[]>;
  /** Canary tasks still queued or active, oldest first. */
  openCanaries(limit: number): Promise<CanaryTaskSeen[]>;
  /** The tasks `ids` now; a task without a row has no entry. */
  tasks(ids: string[]): Promise<CanaryTaskSeen[]>;
  /** Submits a task through the real dispatch path; resolves with its id. */
  submit(input: {
    type: string;
    payload: unknown;
    priority: number;
    maxAttempts: number;
    timeoutMs: number;
  }): Promise<string>;
  /** Cancels a task unless it already ended. */
  cancel(taskId: string, reason: string): Promise<void>;
}

/** Where each role's last result is kept for every replica's health read (canary-results-store.ts). */
export interface CanaryResultsPort {
  record(result: CanaryResult): Promise<void>;
}

export interface CanaryOptions {
  intervalMs: number;
  timeoutMs: number;
  isLeader: () => boolean;
  now?: () => number;
  newNonce?: () => string;
}

/**
 * The synthetic canary: on the leader, one task `overseer.canary.<role>` per role through the real
 * dispatch path (queue, claim, agent, complete). Postgres holds the truth about each canary, so a
 * new leader adopts the one its predecessor left instead of stacking another.
 */
export class CanaryProbe {
  /** Per role: the canary in flight (if any) and when this replica last launched one. */
  private readonly roles = new Map<string, { taskId: string | null; launchedAt: number | null }>();
  private readonly now: () => number;
  private readonly newNonce: () => string;

  constructor(
    private readonly tasks: CanaryTasksPort,
    private readonly results: CanaryResultsPort,
    private readonly bus: EventBus,
    private readonly options: CanaryOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.newNonce = options.newNonce ?? randomUUID;
  }

  /** One pass over every probed role; a follower forgets what it tracked (the leader adopts it). */
  async tick(): Promise<void> {
    if (!this.options.isLeader()) {
      this.roles.clear();
      return;
    }
    const roles = new Set([...(await this.probedRoles()), ...this.roles.keys()]);
    const open = await this.openCanaries();
    const tracked = [...this.roles.values()].map((r) => r.taskId).filter((id): id is string => id !== null);
    const rows = new Map((await this.tasks.tasks(tracked)).map((t) => [t.taskId, t]));
    for (const role of [...roles].slice(0, CANARY_MAX_ROLES)) {
      const mine = this.roles.get(role) ?? { taskId: null, launchedAt: null };
      this.roles.set(role, mine);
      const openOfRole = open.filter((t) => t.role === role);
      if (mine.taskId === null && openOfRole[0]) mine.taskId = openOfRole[0].taskId;
      // Never more than one per role: any other open canary of the role is cancelled unrecorded.
      for (const extra of openOfRole.filter((t) => t.taskId !== mine.taskId)) {
        await this.tasks.cancel(extra.taskId, "duplicate canary");
      }
      const inFlight: CanaryInFlight | null =
        mine.taskId === null
          ? null
          : (rows.get(mine.taskId) ??
            openOfRole.find((t) => t.taskId === mine.taskId) ?? {
              taskId: mine.taskId,
              state: null,
              ageMs: mine.launchedAt === null ? 0 : this.now() - mine.launchedAt,
              durationMs: null,
            });
      const step = decideCanary({
        inFlight,
        msSinceLastLaunch: mine.launchedAt === null ? null : this.now() - mine.launchedAt,
        intervalMs: this.options.intervalMs,
        timeoutMs: this.options.timeoutMs,
      });
      if (step.kind === "launch") {
        mine.taskId = await this.launch(role);
        mine.launchedAt = this.now();
      } else if (step.kind === "resolve") {
        const taskId = mine.taskId;
        mine.taskId = null;
        if (step.cancel && taskId) await this.tasks.cancel(taskId, `canary timed out: ${step.detail}`);
        await this.record({
          role,
          outcome: step.outcome,
          durationMs: Math.max(0, Math.round(step.durationMs)),
          detail: step.detail,
          taskId,
          at: new Date(this.now()).toISOString(),
        });
      }
    }
  }

  /** Roles with a canary-capable agent heard from within the window, dead ones included on purpose. */
  private async probedRoles(): Promise<string[]> {
    const roles = await this.tasks.probedRoles(CANARY_ROLE_WINDOW_MS, CANARY_MAX_ROLES);
    return roles.filter((role) => TYPE_RE.test(canaryTaskType(role)));
  }

  private async openCanaries(): Promise<Array<CanaryInFlight & { role: string }>> {
    const open = await this.tasks.openCanaries(CANARY_MAX_ROLES * 4);
    return open.map((t) => ({
      role: t.type.slice(CANARY_TYPE_PREFIX.length),
      taskId: t.taskId,
      state: t.state,
      ageMs: t.ageMs,
      durationMs: null,
    }));
  }

  private launch(role: string): Promise<string> {
    return this.tasks.submit({
      type: canaryTaskType(role),
      payload: { canary: true, role, nonce: this.newNonce() },
      priority: CANARY_PRIORITY,
      maxAttempts: 1,
      timeoutMs: Math.max(100, this.options.timeoutMs),
    });
  }

  private async record(result: CanaryResult): Promise<void> {
    await this.results.record(result);
    this.bus.emit("probe.completed", {
      probe: "canary",
      role: result.role,
      outcome: result.outcome,
      durationMs: result.durationMs,
      taskId: result.taskId,
      detail: result.detail,
    });
  }
}
