import { readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import type { Registry } from "prom-client";
import type { Static } from "typebox";
import type {
  LifecycleState,
  ReadinessCheck as ReadinessCheckSchema,
  ReadyzReply,
} from "../contract/schemas/health.ts";
import type { OverseerEvent } from "../daemon/events/catalogue.ts";
import type { Db } from "../daemon/store/pg-pool.ts";
import { readQueueStats } from "../daemon/store/queue-stats-store.ts";
import { readCanaryResults } from "./canary-probe.ts";
import {
  agentsStatus,
  type ComponentHealth,
  type ComponentStatus,
  canaryStatus,
  eventLoopStatus,
  QUEUE_WAIT_DEGRADED_SECONDS,
  scoreHealth,
} from "./health-score.ts";

const MIGRATIONS_DIR = fileURLToPath(new URL("../daemon/store/migrations", import.meta.url));
/** A health or readiness check slower than this counts as failed: a probe must answer promptly. */
export const CHECK_TIMEOUT_MS = 2_000;
/** A loop that reported an error within this window makes `loops` degraded. */
const LOOP_ERROR_WINDOW_MS = 60_000;
/** Agents seen within this window count toward their role (dead ones too: a role that died shows). */
const AGENT_ROLE_WINDOW = "1 hour";

/** One check of `/readyz` (the contract's ReadinessCheck). */
export type ReadinessCheck = Static<typeof ReadinessCheckSchema>;

/** `/readyz`'s answer without its `status` word (the contract's ReadyzReply). */
export type Readiness = Omit<Static<typeof ReadyzReply>, "status">;

export interface SystemHealthReport {
  status: "ok" | "degraded" | "down";
  score: number;
  components: Record<string, ComponentHealth>;
  overrides: Array<Record<string, unknown>>;
  checkedAt: string;
}

export interface SystemHealthDeps {
  db: Db;
  redis: Redis;
  namespace: string;
  replicaId: string;
  leaderKey: string;
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
  private migrationFiles: Promise<string[]> | null = null;
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
      this.check(() => this.deps.db.query("SELECT 1").then(() => "answered")),
      this.check(() => this.deps.redis.ping().then(() => "answered")),
      this.check(async () => {
        const pending = await this.pendingMigrations();
        if (pending.length > 0) throw new Error(`not applied: ${pending.join(", ")}`);
        return "all applied";
      }),
      this.check(async () => {
        const holder = await this.deps.redis.get(this.deps.leaderKey);
        if (!holder) throw new Error("no replica holds the leader lease");
        return holder.startsWith(`${this.deps.replicaId}:`) ? "this replica leads" : "another replica leads";
      }),
    ]);
    const checks = { postgres, redis, migrations, leader };
    const lifecycle = this.deps.lifecycle();
    const ready = lifecycle === "RUNNING" && Object.values(checks).every((c) => c.ok);
    return { ready, lifecycle, checks };
  }

  async report(): Promise<SystemHealthReport> {
    const [postgres, redis, leader, agents, queues, canary, eventLoop, overrides] = await Promise.all([
      this.component(async () => {
        await this.deps.db.query("SELECT 1");
        const pending = await this.pendingMigrations();
        return pending.length === 0
          ? { status: "ok", detail: { migrationsPending: [] } }
          : { status: "degraded", detail: { migrationsPending: pending } };
      }),
      this.component(async () => {
        await this.deps.redis.ping();
        return { status: "ok", detail: {} };
      }),
      this.component(async () => {
        const [holder, ttl] = await Promise.all([
          this.deps.redis.get(this.deps.leaderKey),
          this.deps.redis.pttl(this.deps.leaderKey),
        ]);
        if (!holder)
          return { status: "down", detail: { leader: null, message: "no replica holds the lease" } };
        const cut = holder.lastIndexOf(":");
        return {
          status: "ok",
          detail: {
            replicaId: holder.slice(0, cut),
            epoch: Number(holder.slice(cut + 1)),
            isThisReplica: holder.slice(0, cut) === this.deps.replicaId,
            leaseRemainingMs: ttl,
          },
        };
      }),
      this.component(() => this.agentsComponent()),
      this.component(() => this.queuesComponent()),
      this.component(() => this.canaryComponent()),
      this.component(() => this.eventLoopComponent()),
      this.overridesComponent(),
    ]);
    const components: Record<string, ComponentHealth> = {
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

  private async component(
    fn: () => Promise<{ status: ComponentStatus; detail: unknown }>,
  ): Promise<ComponentHealth> {
    const r = await timed(fn);
    if (r.error !== undefined || !r.value) {
      return { status: "down", latencyMs: r.latencyMs, detail: { error: r.error ?? "no answer" } };
    }
    return { status: r.value.status, latencyMs: r.latencyMs, detail: r.value.detail };
  }

  /** Migration files not recorded in the namespace's migrations table (empty when up to date). */
  private async pendingMigrations(): Promise<string[]> {
    this.migrationFiles ??= readdir(MIGRATIONS_DIR).then((names) =>
      names
        .filter((n) => /\.(sql|js|ts)$/.test(n))
        .map((n) => n.replace(/\.(sql|js|ts)$/, ""))
        .sort(),
    );
    const files = await this.migrationFiles;
    const { rows } = await this.deps.db.query<{ name: string }>("SELECT name FROM pgmigrations");
    const applied = new Set(rows.map((r) => r.name));
    return files.filter((f) => !applied.has(f));
  }

  private loopsComponent(): ComponentHealth {
    const cutoff = this.now() - LOOP_ERROR_WINDOW_MS;
    const recent: Record<string, { lastErrorAt: string; lastError: string; errorsSinceStart: number }> = {};
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

  private async agentsComponent(): Promise<{ status: ComponentStatus; detail: unknown }> {
    const { rows } = await this.deps.db.query<{ role: string; state: string; n: string }>(
      `SELECT role, state, count(*) AS n FROM agents
        WHERE state IN ('active', 'stale', 'draining')
           OR last_heartbeat_at > now() - interval '${AGENT_ROLE_WINDOW}'
           OR state_changed_at > now() - interval '${AGENT_ROLE_WINDOW}'
        GROUP BY role, state ORDER BY role, state LIMIT 10000`,
    );
    const byRole: Record<string, Record<string, number>> = {};
    for (const r of rows) {
      byRole[r.role] = { ...byRole[r.role], [r.state]: Number(r.n) };
    }
    return { status: agentsStatus(byRole), detail: { byRole } };
  }

  private async queuesComponent(): Promise<{ status: ComponentStatus; detail: unknown }> {
    const stats = await readQueueStats(this.deps.db);
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

  private async canaryComponent(): Promise<{ status: ComponentStatus; detail: unknown }> {
    if (!this.deps.canaryEnabled) return { status: "unknown", detail: { message: "the canary is disabled" } };
    const results = await readCanaryResults(this.deps.redis, this.deps.namespace);
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
  private async eventLoopComponent(): Promise<{ status: ComponentStatus; detail: unknown }> {
    const read = async (name: string): Promise<number | null> => {
      const metric = this.deps.registry.getSingleMetric(name);
      if (!metric) return null;
      const v = (await metric.get()).values[0]?.value;
      return typeof v === "number" ? v : null;
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
    component: ComponentHealth;
    active: Array<Record<string, unknown>>;
  }> {
    const r = await timed(async () => {
      const exists = await this.deps.db.query<{ t: string | null }>(
        "SELECT to_regclass('overrides')::text AS t",
      );
      if (!exists.rows[0]?.t) return null;
      const { rows } = await this.deps.db.query<Record<string, unknown>>(
        `SELECT id, action, reason, actor, state, started_at, expires_at, impact FROM overrides
          WHERE state = 'active' AND (expires_at IS NULL OR expires_at > now()) ORDER BY started_at LIMIT 100`,
      );
      return rows.map(camelRow);
    });
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

/** A Postgres row with camelCase keys and ISO dates, as the API answers. */
function camelRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    out[k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = v instanceof Date ? v.toISOString() : v;
  }
  return out;
}
