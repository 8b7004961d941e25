import type { Static } from "typebox";
import type {
  AgentMetricsReply,
  DiagnosticsReply,
  DistributionReply,
  ErrorLogReply,
  FailuresReply,
  SuccessRateReply,
} from "../../contract/schemas/coordination.ts";
import { OverseerError } from "../errors/overseer-error.ts";
import { attemptStats } from "../store/attempt-stats-store.ts";
import { leaseReads } from "../store/lease-reads-store.ts";
import type { Db } from "../store/pg-pool.ts";
import { selectOne } from "../store/postgres-server-store.ts";
import type { CoordinationRedis } from "../store/redis/coordination-redis.ts";
import type { HeartbeatStore } from "../store/redis/heartbeat-store.ts";
import type { TaskQueues } from "../store/redis/task-queues.ts";
import { taskReads } from "../store/task-reads-store.ts";
import {
  type DiagnosticsSnapshot,
  diagnose,
  type LoopStatus,
  overall,
  type StoreProbe,
} from "./diagnostics-findings.ts";
import {
  classifyFailure,
  FAILURE_CLASSES,
  type FailureClass,
  RECOMMENDATIONS,
} from "./failure-classifier.ts";
import { SUCCESS_WINDOWS, successRate, windowView } from "./success-rate.ts";

export const FAILURE_WINDOWS = { "1h": 3_600_000, "24h": 86_400_000, "7d": 604_800_000 } as const;
export const LOG_WINDOWS = { "5m": 300_000, ...FAILURE_WINDOWS } as const;
/** Failure groups read per request; more distinct (outcome, category, code, message) groups are reported as truncated. */
const MAX_FAILURE_GROUPS = 2_000;
const AGENT_WINDOWS = { "1h": 3_600_000, "24h": 86_400_000 } as const;
const LIVE = ["active", "stale", "draining"];

export interface CoordinationReadDeps {
  db: Db;
  queues: TaskQueues;
  liveness: HeartbeatStore;
  redis: CoordinationRedis;
  /** The daemon's interval loops, for the diagnostics. */
  loops: () => LoopStatus[];
  sweepIntervalMs: number;
  now?: () => number;
}

const timed = async (f: () => Promise<unknown>): Promise<StoreProbe> => {
  const start = performance.now();
  try {
    await f();
    return { ok: true, latencyMs: Math.round((performance.now() - start) * 10) / 10 };
  } catch (error) {
    return { ok: false, latencyMs: null, error: (error as Error)?.message ?? String(error) };
  }
};

/**
 * The coordination reads (docs/coordination.md): success rate, failures by class, the error log,
 * the distribution of tasks and leases, an agent's metrics, and the diagnostics. Postgres is the
 * system of record; the decisions are in the pure modules beside this one.
 */
export class CoordinationReads {
  private readonly now: () => number;

  constructor(private readonly d: CoordinationReadDeps) {
    this.now = d.now ?? Date.now;
  }

  async successRate(): Promise<Static<typeof SuccessRateReply>> {
    const counts = await attemptStats.windowCounts(this.d.db, SUCCESS_WINDOWS);
    const view = (name: keyof typeof SUCCESS_WINDOWS) =>
      windowView(SUCCESS_WINDOWS[name], counts[name].current, counts[name].previous);
    const hourly = (await attemptStats.hourly(this.d.db)).map((h) => ({
      hourStart: h.hourStart,
      completed: h.counts.completed,
      failed: h.counts.failed + h.counts.timedOut + h.counts.lost,
      rate: successRate(h.counts),
    }));
    return {
      live: view("live"),
      windows: { "1h": view("1h"), "24h": view("24h"), "7d": view("7d") },
      hourly,
      checkedAt: new Date(this.now()).toISOString(),
    };
  }

  async failures(window: keyof typeof FAILURE_WINDOWS): Promise<Static<typeof FailuresReply>> {
    const { groups, total } = await attemptStats.failureGroups(
      this.d.db,
      FAILURE_WINDOWS[window],
      MAX_FAILURE_GROUPS,
    );
    type Examples = (typeof groups)[number]["examples"];
    const byClass = new Map<FailureClass, { count: number; examples: Examples }>();
    for (const cls of FAILURE_CLASSES) byClass.set(cls, { count: 0, examples: [] });
    let classified = 0;
    for (const g of groups) {
      const cls = classifyFailure(g);
      const entry = byClass.get(cls) as { count: number; examples: Examples };
      entry.count += g.count;
      entry.examples.push(...g.examples);
      classified += g.count;
    }
    const classes = FAILURE_CLASSES.map((cls) => {
      const e = byClass.get(cls) as { count: number; examples: Examples };
      return {
        class: cls,
        count: e.count,
        share: total === 0 ? null : e.count / total,
        examples: e.examples.sort((a, b) => b.at.localeCompare(a.at)).slice(0, 5),
        recommendation: RECOMMENDATIONS[cls],
      };
    }).sort((a, b) => b.count - a.count);
    return {
      window,
      windowMs: FAILURE_WINDOWS[window],
      total,
      // More distinct failure groups than one read takes: these failures are counted in total only.
      unclassified: total - classified,
      classes,
    };
  }

  async errorLog(window: keyof typeof LOG_WINDOWS, limit: number): Promise<Static<typeof ErrorLogReply>> {
    const events = await attemptStats.errorEvents(this.d.db, LOG_WINDOWS[window], limit);
    const groups = new Map<
      string,
      { pattern: string; count: number; latestAt: string; events: typeof events }
    >();
    for (const e of events) {
      const pattern =
        e.kind === "operator_reassign"
          ? "operator_reassign"
          : classifyFailure({ ...e, outcome: e.outcome === "dead" ? "failed" : e.outcome });
      const g = groups.get(pattern) ?? { pattern, count: 0, latestAt: e.at, events: [] };
      g.count++;
      g.events.push(e);
      groups.set(pattern, g);
    }
    return {
      window,
      limit,
      total: events.length,
      groups: [...groups.values()]
        .sort((a, b) => b.count - a.count)
        .map((g) => ({
          ...g,
          recommendation: g.pattern in RECOMMENDATIONS ? RECOMMENDATIONS[g.pattern as FailureClass] : null,
        })),
      // Lease conflicts are not kept in Postgres: they are counted by overseer_lease_conflicts_total.
      sources: [
        "task_attempts (failed, timed_out, lost)",
        "tasks (dead letters)",
        "audit_log (task.reassign)",
      ],
    };
  }

  async distribution(): Promise<Static<typeof DistributionReply>> {
    const rows = await taskReads.countsByTypeAndState(this.d.db);
    const byState: Record<string, number> = {};
    const byType: Record<string, Record<string, number>> = {};
    for (const r of rows) {
      byState[r.state] = (byState[r.state] ?? 0) + r.count;
      const t = byType[r.type] ?? { total: 0 };
      t[r.state] = r.count;
      t.total = (t.total ?? 0) + r.count;
      byType[r.type] = t;
    }
    const agents = (await leaseReads.agentLoads(this.d.db)).map((a) => ({
      agentId: a.id,
      name: a.name,
      role: a.role,
      state: a.state,
      concurrency: a.concurrency,
      leases: a.leases,
      load: a.leases / Math.max(1, a.concurrency),
    }));
    return { byState, byType, agents };
  }

  async agentMetrics(agentId: string): Promise<Static<typeof AgentMetricsReply>> {
    const row = await leaseReads.agentLoad(this.d.db, agentId);
    if (!row) throw new OverseerError("OVS_ERR_AGENT_NOT_FOUND", `no agent ${agentId}`);
    const windows = await attemptStats.ofAgent(this.d.db, agentId, AGENT_WINDOWS);
    const shaped = (name: keyof typeof AGENT_WINDOWS) => {
      const w = windows[name];
      return {
        completed: w.completed,
        failed: w.failed + w.timedOut + w.lost,
        byOutcome: { failed: w.failed, timedOut: w.timedOut, lost: w.lost },
        successRate: successRate(w),
        meanDurationMs: w.meanDurationMs,
        meanCompletedDurationMs: w.meanCompletedDurationMs,
      };
    };
    const ages = await this.d.redis.heartbeatAges([agentId]).catch(() => new Map<string, number>());
    const redisAge = ages.get(agentId);
    return {
      agentId,
      name: row.name,
      role: row.role,
      state: row.state,
      concurrency: row.concurrency,
      currentLeases: row.leases,
      heartbeat:
        redisAge !== undefined
          ? { ageMs: redisAge, source: "redis" }
          : { ageMs: Math.max(0, this.now() - row.lastHeartbeatAt.getTime()), source: "postgres" },
      windows: { "1h": shaped("1h"), "24h": shaped("24h") },
    };
  }

  async diagnostics(): Promise<Static<typeof DiagnosticsReply>> {
    const db = this.d.db;
    const stores = {
      postgres: await timed(() => selectOne(db)),
      redis: await timed(() => this.d.redis.ping()),
    };
    const snapshot: DiagnosticsSnapshot = {
      nowMs: this.now(),
      queues: [],
      activeLeases: 0,
      expiredLeases: { count: 0, oldestOverdueMs: 0 },
      mirrors: [],
      agents: [],
      stores,
      loops: this.d.loops(),
      sweepIntervalMs: this.d.sweepIntervalMs,
    };
    if (stores.postgres.ok) {
      const agents = await leaseReads.agentLoads(db);
      const queued = await taskReads.queuedByType(db);
      const types = new Set([...queued.map((q) => q.type), ...agents.flatMap((a) => a.capabilities)]);
      for (const type of [...types].sort().slice(0, 200)) {
        const q = queued.find((x) => x.type === type);
        const bull = stores.redis.ok ? await this.d.queues.jobCounts(type).catch(() => null) : null;
        snapshot.queues.push({ type, pgReady: q?.ready ?? 0, pgDelayed: q?.delayed ?? 0, bull });
      }
      const expired = await leaseReads.expired(db);
      snapshot.activeLeases = expired.active;
      snapshot.expiredLeases = { count: expired.count, oldestOverdueMs: expired.oldestOverdueMs };
      if (stores.redis.ok) {
        const ids = agents.map((a) => a.id);
        const mirror = await this.d.liveness.states(ids);
        const ages = await this.d.redis.heartbeatAges(ids);
        const live = agents.filter((a) => LIVE.includes(a.state));
        const pgLeases = await leaseReads.byAgent(db);
        const redisLeases = await this.d.redis.leaseSets(live.map((a) => a.id));
        for (const a of live) {
          const pg = new Set(pgLeases.get(a.id) ?? []);
          const rs = new Set(redisLeases.get(a.id) ?? []);
          snapshot.mirrors.push({
            agentId: a.id,
            postgresLeases: pg.size,
            missingInRedis: [...pg].filter((id) => !rs.has(id)).length,
            extraInRedis: [...rs].filter((id) => !pg.has(id)).length,
          });
        }
        snapshot.agents = agents.map((a) => ({
          id: a.id,
          state: a.state,
          mirrorState: mirror.get(a.id) ?? null,
          leases: a.leases,
          heartbeatAgeMs: ages.get(a.id) ?? null,
        }));
      }
    }
    const findings = diagnose(snapshot);
    return {
      status: overall(findings),
      findings,
      checked: {
        stores: snapshot.stores,
        queues: snapshot.queues,
        leases: { active: snapshot.activeLeases, expired: snapshot.expiredLeases },
        agents: snapshot.agents.length,
        loops: snapshot.loops,
      },
      checkedAt: new Date(snapshot.nowMs).toISOString(),
    };
  }
}
