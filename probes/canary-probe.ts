import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { TASK_TYPE_PATTERN } from "../contract/schemas/common.ts";
import type { ProbeOutcome } from "../daemon/events/catalogue.ts";
import type { EventBus } from "../daemon/events/event-bus.ts";
import { type Db, withTransaction } from "../daemon/store/pg-pool.ts";
import type { TaskStore } from "../daemon/store/task-store.ts";
import type { TaskDispatch } from "../daemon/tasks/task-dispatch.ts";
import type { TaskService } from "../daemon/tasks/task-service.ts";
import { type CanaryInFlight, canaryTaskType, decideCanary } from "./canary-decision.ts";

/** Roles probed at most; role names come from agents, so the metric labels stay bounded. */
export const CANARY_MAX_ROLES = 100;
/** A role stays probed this long after its last canary-capable agent was heard from. */
export const CANARY_ROLE_WINDOW_MS = 3_600_000;
/** Canaries jump the queue: they test whether an agent of the role answers, not the backlog. */
const CANARY_PRIORITY = 1_000;
const TYPE_PREFIX = "overseer.canary.";
const TYPE_RE = new RegExp(TASK_TYPE_PATTERN);

/** The last canary result of a role, kept in Redis so every replica's health read sees it. */
export interface CanaryResult {
  role: string;
  outcome: ProbeOutcome;
  durationMs: number;
  detail: string;
  taskId: string | null;
  at: string;
}

/** The namespace's Redis hash of role → last CanaryResult (JSON), under its hash tag. */
export function canaryResultsKey(namespace: string): string {
  return `ovs:{${namespace}}:canary`;
}

/** Reads every role's last canary result (empty when none ran yet). */
export async function readCanaryResults(redis: Redis, namespace: string): Promise<CanaryResult[]> {
  const raw = await redis.hgetall(canaryResultsKey(namespace));
  return Object.values(raw)
    .map((v) => JSON.parse(v) as CanaryResult)
    .sort((a, b) => a.role.localeCompare(b.role));
}

export interface CanaryOptions {
  namespace: string;
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
    private readonly db: Db,
    private readonly redis: Redis,
    private readonly tasks: TaskService,
    private readonly dispatcher: TaskDispatch,
    private readonly taskStore: TaskStore,
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
    const rows = await this.taskRows(tracked);
    for (const role of [...roles].slice(0, CANARY_MAX_ROLES)) {
      const mine = this.roles.get(role) ?? { taskId: null, launchedAt: null };
      this.roles.set(role, mine);
      const openOfRole = open.filter((t) => t.role === role);
      if (mine.taskId === null && openOfRole[0]) mine.taskId = openOfRole[0].taskId;
      // Never more than one per role: any other open canary of the role is cancelled unrecorded.
      for (const extra of openOfRole.filter((t) => t.taskId !== mine.taskId)) {
        await this.cancel(extra.taskId, "duplicate canary");
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
        if (step.cancel && taskId) await this.cancel(taskId, `canary timed out: ${step.detail}`);
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
    const { rows } = await this.db.query<{ role: string }>(
      `SELECT DISTINCT role FROM agents
        WHERE $1 || role = ANY (capabilities)
          AND (state IN ('active', 'stale', 'draining') OR last_heartbeat_at > now() - $2 * interval '1 millisecond'
               OR state_changed_at > now() - $2 * interval '1 millisecond')
        ORDER BY role LIMIT $3`,
      [TYPE_PREFIX, CANARY_ROLE_WINDOW_MS, CANARY_MAX_ROLES],
    );
    return rows.map((r) => r.role).filter((role) => TYPE_RE.test(canaryTaskType(role)));
  }

  private async openCanaries(): Promise<Array<CanaryInFlight & { role: string }>> {
    const { rows } = await this.db.query<{ id: string; type: string; state: string; age_ms: number }>(
      `SELECT id, type, state, (EXTRACT(EPOCH FROM now() - created_at) * 1000)::float8 AS age_ms
         FROM tasks WHERE state IN ('queued', 'active') AND type LIKE 'overseer.canary.%'
        ORDER BY created_at LIMIT $1`,
      [CANARY_MAX_ROLES * 4],
    );
    return rows.map((r) => ({
      role: r.type.slice(TYPE_PREFIX.length),
      taskId: r.id,
      state: r.state,
      ageMs: Number(r.age_ms),
      durationMs: null,
    }));
  }

  private async taskRows(ids: string[]): Promise<Map<string, CanaryInFlight>> {
    if (ids.length === 0) return new Map();
    const { rows } = await this.db.query<{
      id: string;
      state: string;
      age_ms: number;
      duration_ms: number | null;
    }>(
      `SELECT id, state, (EXTRACT(EPOCH FROM now() - created_at) * 1000)::float8 AS age_ms,
              (EXTRACT(EPOCH FROM finished_at - created_at) * 1000)::float8 AS duration_ms
         FROM tasks WHERE id = ANY ($1::uuid[])`,
      [ids],
    );
    return new Map(
      rows.map((r) => [
        r.id,
        {
          taskId: r.id,
          state: r.state,
          ageMs: Number(r.age_ms),
          durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
        },
      ]),
    );
  }

  private async launch(role: string): Promise<string> {
    const { id } = await this.tasks.submit({
      type: canaryTaskType(role),
      payload: { canary: true, role, nonce: this.newNonce() },
      priority: CANARY_PRIORITY,
      maxAttempts: 1,
      timeoutMs: Math.max(100, this.options.timeoutMs),
    });
    return id;
  }

  private async cancel(taskId: string, reason: string): Promise<void> {
    const cancelled = await withTransaction(this.db, (client) =>
      this.taskStore.cancel(client, taskId, reason),
    );
    if (cancelled) await this.dispatcher.afterCancel([cancelled]);
  }

  private async record(result: CanaryResult): Promise<void> {
    await this.redis.hset(canaryResultsKey(this.options.namespace), result.role, JSON.stringify(result));
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
