import type { Registry } from "prom-client";
import type { Static } from "typebox";
import type {
  LifecycleState,
  ReadinessCheck as ReadinessCheckSchema,
  ReadyzReply,
} from "../contract/schemas/health.ts";
import type {
  ActiveOverride,
  CanaryResult,
  ComponentStatus,
  SystemHealthComponents,
  SystemHealthReport,
} from "../contract/schemas/system.ts";
import type { OverseerEvent } from "../daemon/events/catalogue.ts";
import {
  agentsStatus,
  canaryStatus,
  eventLoopStatus,
  QUEUE_WAIT_DEGRADED_SECONDS,
  scoreHealth,
} from "./health-score.ts";

export type { SystemHealthReport };

/** A health or readiness check slower than this counts as failed: a probe must answer promptly. */
export const CHECK_TIMEOUT_MS = 2_000;
/** A loop that reported an error within this window makes `loops` degraded. */
const LOOP_ERROR_WINDOW_MS = 60_000;
/** Agents seen within this window count toward their role (dead ones too: a role that died shows). */
const AGENT_ROLE_WINDOW_MS = 3_600_000;

/** One check of `/readyz` (the contract's ReadinessCheck). */
export type ReadinessCheck = Static<typeof ReadinessCheckSchema>;

/** `/readyz`'s answer without its `status` word (the contract's ReadyzReply). */
export type Readiness = Omit<Static<typeof ReadyzReply>, "status">;

type Components = SystemHealthComponents;
/** A component's detail when its check answered (the contract's shape without `{error}`). */
type DetailOf<K extends keyof Components> = Exclude<Components[K]["detail"], { error: string }>;
/** One component as the contract has it: the detail of `D`, or `{error}` when the check failed. */
interface Component<D> {
  status: ComponentStatus;
  latencyMs: number | null;
  detail: D | { error: string };
}

/** What the health checks read from Postgres (daemon/store/health-store.ts). */
export interface PostgresHealthPort {
  /** Resolves once Postgres answered a trivial statement. */
  ping(): Promise<void>;
  /** Migration files not applied in the namespace's schema (empty when up to date). */
  pendingMigrations(): Promise<string[]>;
  /** Agents by role and state: the live ones, and those heard from or changed within `windowMs`. */
  agentCountsByRole(windowMs: number): Promise<Array<{ role: string; state: string; count: number }>>;
  /** Unfinished tasks by type and state (`ready`, `delayed`, `active`, ...) with the oldest's age. */
  queueStats(): Promise<Array<{ state: string; count: number; oldestAgeSeconds: number }>>;
  /** Overrides in force, or null when the overrides table does not exist yet. */
  activeOverrides(): Promise<ActiveOverride[] | null>;
}

/** What the health checks ask Redis (daemon/store/redis/redis-health-store.ts). */
export interface RedisHealthPort {
  ping(): Promise<void>;
  /** The leader lease's holder, or null when no replica holds it. */
  leaseHolder(): Promise<{ replicaId: string; epoch: number; leaseRemainingMs: number } | null>;
}

/** Every role's last canary result (daemon/store/redis/canary-results-store.ts). */
export interface CanaryResultsReader {
  all(): Promise<CanaryResult[]>;
}

export interface SystemHealthDeps {
  postgres: PostgresHealthPort;
  redis: RedisHealthPort;
  canaryResults: CanaryResultsReader;
  replicaId: string;
  registry: Registry;
  canaryEnabled: boolean;
  lifecycle: () => LifecycleState;
  now?: () => number;
}

/** Runs `fn` with a deadline and measures it; never throws. */
async function timed<T>(fn: () => Promise<T>): Promise<{ value?: T; error?: string; latencyMs: number }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const value = await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return { value, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (error) {
    return {
      error: (error as Error)?.message ?? String(error),
      latencyMs: Math.round((performance.now() - started) * 10) / 10,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** `/readyz` and `GET /api/dashboard/system/health`: what the process can see of the system, measured now. */
export class SystemHealth {
  /** Per background loop: when it last reported an error, and the message (fed by the event bus). */
  private readonly loopErrors = new Map<string, { at: number; message: string; count: number }>();
  private readonly now: () => number;

  constructor(private readonly deps: SystemHealthDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Event-bus sink: remembers loop errors for the `loops` component. */
  readonly onEvent = (e: OverseerEvent): void => {
    if (e.type !== "loop.error") return;
    const prev = this.loopErrors.get(e.loop);
    this.loopErrors.set(e.loop, { at: e.at, message: e.message, count: (prev?.count ?? 0) + 1 });
  };

  async readiness(): Promise<Readiness> {
    const [postgres, redis, migrations, leader] = await Promise.all([
      this.check(() => this.deps.postgres.ping().then(() => "answered")),
      this.check(() => this.deps.redis.ping().then(() => "answered")),
      this.check(async () => {
        const pending = await this.deps.postgres.pendingMigrations();
        if (pending.length > 0) throw new Error(`not applied: ${pending.join(", ")}`);
        return "all applied";
      }),
      this.check(async () => {
        const holder = await this.deps.redis.leaseHolder();
        if (!holder) throw new Error("no replica holds the leader lease");
        return holder.replicaId === this.deps.replicaId ? "this replica leads" : "another replica leads";
      }),
    ]);
    const checks = { postgres, redis, migrations, leader };
    const lifecycle = this.deps.lifecycle();
    const ready = lifecycle === "RUNNING" && Object.values(checks).every((c) => c.ok);
    return { ready, lifecycle, checks };
  }

  async report(): Promise<SystemHealthReport> {
    const [postgres, redis, leader, agents, queues, canary, eventLoop, overrides] = await Promise.all([
      this.component<DetailOf<"postgres">>(async () => {
        await this.deps.postgres.ping();
        const pending = await this.deps.postgres.pendingMigrations();
        return pending.length === 0
          ? { status: "ok", detail: { migrationsPending: [] } }
          : { status: "degraded", detail: { migrationsPending: pending } };
      }),
      this.component<DetailOf<"redis">>(async () => {
        await this.deps.redis.ping();
        return { status: "ok", detail: {} };
      }),
      this.component<DetailOf<"leader">>(async () => {
        const holder = await this.deps.redis.leaseHolder();
        if (!holder)
          return { status: "down", detail: { leader: null, message: "no replica holds the lease" } };
        return {
          status: "ok",
          detail: {
            replicaId: holder.replicaId,
            epoch: holder.epoch,
            isThisReplica: holder.replicaId === this.deps.replicaId,
            leaseRemainingMs: holder.leaseRemainingMs,
          },
        };
      }),
      this.component(() => this.agentsComponent()),
      this.component(() => this.queuesComponent()),
      this.component(() => this.canaryComponent()),
      this.component(() => this.eventLoopComponent()),
      this.overridesComponent(),
    ]);
    const components: Components = {
      postgres,
      redis,
      leader,
      loops: this.loopsComponent(),
      agents,
      queues,
      canary,
      eventLoop,
      overrides: overrides.component,
    };
    return {
      ...scoreHealth(components),
      components,
      overrides: overrides.active,
      checkedAt: new Date(this.now()).toISOString(),
    };
  }

  private async check(fn: () => Promise<string>): Promise<ReadinessCheck> {
    const r = await timed(fn);
    return { ok: r.error === undefined, latencyMs: r.latencyMs, detail: r.error ?? r.value ?? "" };
  }

  private async component<D>(
    fn: () => Promise<{ status: ComponentStatus; detail: D }>,
  ): Promise<Component<D>> {
    const r = await timed(fn);
    if (r.error !== undefined || !r.value) {
      return { status: "down", latencyMs: r.latencyMs, detail: { error: r.error ?? "no answer" } };
    }
    return { status: r.value.status, latencyMs: r.latencyMs, detail: r.value.detail };
  }

  private loopsComponent(): Components["loops"] {
    const cutoff = this.now() - LOOP_ERROR_WINDOW_MS;
    const recent: DetailOf<"loops">["failingInLastMinute"] = {};
    for (const [loop, e] of this.loopErrors) {
      if (e.at >= cutoff) {
        recent[loop] = {
          lastErrorAt: new Date(e.at).toISOString(),
          lastError: e.message,
          errorsSinceStart: e.count,
        };
      }
    }
    const failing = Object.keys(recent).length;
    return {
      status: failing === 0 ? "ok" : "degraded",
      latencyMs: null,
      detail: { lifecycle: this.deps.lifecycle(), failingInLastMinute: recent },
    };
  }

  private async agentsComponent(): Promise<{ status: ComponentStatus; detail: DetailOf<"agents"> }> {
    const rows = await this.deps.postgres.agentCountsByRole(AGENT_ROLE_WINDOW_MS);
    const byRole: Record<string, Record<string, number>> = {};
    for (const r of rows) {
      byRole[r.role] = { ...byRole[r.role], [r.state]: r.count };
    }
    return { status: agentsStatus(byRole), detail: { byRole } };
  }

  private async queuesComponent(): Promise<{ status: ComponentStatus; detail: DetailOf<"queues"> }> {
    const stats = await this.deps.postgres.queueStats();
    const ready = stats.filter((s) => s.state === "ready");
    const oldestReady = ready.reduce((m, s) => Math.max(m, s.oldestAgeSeconds), 0);
    const total = (state: string) => stats.filter((s) => s.state === state).reduce((n, s) => n + s.count, 0);
    return {
      status: oldestReady > QUEUE_WAIT_DEGRADED_SECONDS ? "degraded" : "ok",
      detail: {
        ready: total("ready"),
        delayed: total("delayed"),
        active: total("active"),
        oldestReadyAgeSeconds: Math.round(oldestReady * 1000) / 1000,
        degradedAfterSeconds: QUEUE_WAIT_DEGRADED_SECONDS,
      },
    };
  }

  private async canaryComponent(): Promise<{ status: ComponentStatus; detail: DetailOf<"canary"> }> {
    if (!this.deps.canaryEnabled) return { status: "unknown", detail: { message: "the canary is disabled" } };
    const results = await this.deps.canaryResults.all();
    return {
      status: canaryStatus(
        results.map((r) => r.outcome),
        true,
      ),
      detail: {
        roles: results,
        ...(results.length === 0
          ? { message: "no canary has run yet (no role has an agent that answers canaries)" }
          : {}),
      },
    };
  }

  /** From prom-client's default metrics, which sample the event-loop delay continuously. */
  private async eventLoopComponent(): Promise<{ status: ComponentStatus; detail: DetailOf<"eventLoop"> }> {
    const read = async (name: string): Promise<number | null> => {
      const metric = this.deps.registry.getSingleMetric(name);
      if (!metric) return null;
      const v = (await metric.get()).values[0]?.value;
      // Before the histogram's first sample its values are NaN, which JSON carries as null.
      return typeof v === "number" && Number.isFinite(v) ? v : null;
    };
    const p99 = await read("overseer_nodejs_eventloop_lag_p99_seconds");
    const mean = await read("overseer_nodejs_eventloop_lag_mean_seconds");
    const max = await read("overseer_nodejs_eventloop_lag_max_seconds");
    return { status: eventLoopStatus(p99), detail: { p99Seconds: p99, meanSeconds: mean, maxSeconds: max } };
  }

  /**
   * Active overrides from the `overrides` table. Before the migration that creates it has run, the
   * component is `unknown` and the list empty: no override can be active without the table.
   */
  private async overridesComponent(): Promise<{
    component: Components["overrides"];
    active: ActiveOverride[];
  }> {
    const r = await timed(() => this.deps.postgres.activeOverrides());
    if (r.error !== undefined) {
      return {
        component: { status: "down", latencyMs: r.latencyMs, detail: { error: r.error } },
        active: [],
      };
    }
    if (r.value === null || r.value === undefined) {
      return {
        component: {
          status: "unknown",
          latencyMs: r.latencyMs,
          detail: { message: "overrides are not set up in this schema" },
        },
        active: [],
      };
    }
    const active = r.value;
    return {
      component: {
        status: active.length === 0 ? "ok" : "degraded",
        latencyMs: r.latencyMs,
        detail: { active: active.length, actions: active.map((o) => o.action) },
      },
      active,
    };
  }
}
