import type {
  AgentStatusView,
  AgentsStatusReply,
  HeartbeatsReply,
  QueueState,
  TaskQueueReply,
} from "../../contract/schemas/dashboard.ts";
import { healthScore } from "../agents/health-score.ts";
import type { AgentStateName } from "../events/catalogue.ts";
import type { AgentStore } from "../store/agent-store.ts";
import type { Queryable } from "../store/pg-pool.ts";
import { readQueueStats } from "../store/queue-stats-store.ts";
import type { HeartbeatStore } from "../store/redis/heartbeat-store.ts";
import { SharedReads } from "./shared-reads.ts";

export interface LivenessSettings {
  heartbeatIntervalMs: number;
  staleAfterMs: number;
  deadAfterMs: number;
}

/** One agent as the dashboards show it (the contract's AgentStatusView). */
export type AgentStatusRow = AgentStatusView;

/** A filter of the agents' status read. */
export interface AgentsStatusFilter {
  role?: string;
  state?: AgentStateName;
  includeEnded: boolean;
  limit: number;
}

/**
 * The reads behind the dashboards: every number comes from Postgres or Redis, read at most once per
 * `snapshotMs` for each filter and shared by every caller meanwhile (shared-reads.ts); each answer's
 * `generatedAt` says when it was read.
 */
export class DashboardReads {
  private readonly shared: SharedReads;

  constructor(
    private readonly db: Queryable,
    private readonly agents: AgentStore,
    private readonly liveness: HeartbeatStore,
    private readonly settings: LivenessSettings,
    snapshotMs = 0,
  ) {
    this.shared = new SharedReads(snapshotMs);
  }

  agentsStatus(filter: AgentsStatusFilter): Promise<AgentsStatusReply> {
    const { role, state, includeEnded, limit } = filter;
    return this.shared.get(`status ${JSON.stringify([role, state, includeEnded, limit])}`, () =>
      this.readAgentsStatus(filter),
    );
  }

  heartbeats(): Promise<HeartbeatsReply> {
    return this.shared.get("heartbeats", () => this.readHeartbeats());
  }

  async taskQueue(filter: { type?: string; state?: QueueState }): Promise<TaskQueueReply> {
    const { at, stats } = await this.shared.get("queues", async () => ({
      at: new Date(),
      stats: await readQueueStats(this.db),
    }));
    const kept = stats.filter(
      (s) => (!filter.type || s.type === filter.type) && (!filter.state || s.state === filter.state),
    );
    const totals: Record<string, number> = {};
    for (const s of kept) totals[s.state] = (totals[s.state] ?? 0) + s.count;
    return { generatedAt: at.toISOString(), totals, queues: kept };
  }

  private async readAgentsStatus(filter: AgentsStatusFilter): Promise<AgentsStatusReply> {
    const { agents: records, total } = await this.agents.listFiltered(filter);
    const [{ now, beats }, info, outcomes] = await Promise.all([
      this.liveness.all(),
      this.liveness.info(records.map((a) => a.id)),
      this.agents.outcomesSince(3_600_000),
    ]);
    const rows: AgentStatusRow[] = records.map((a) => {
      const beat = beats.get(a.id);
      const live = a.state === "active" || a.state === "stale" || a.state === "draining";
      const lastAt = beat ?? (live ? a.lastHeartbeatAt.getTime() : null);
      const ageMs = lastAt === null ? null : Math.max(0, now - lastAt);
      const i = info.get(a.id);
      const recent = outcomes.get(a.id) ?? { completed: 0, failed: 0 };
      return {
        id: a.id,
        name: a.name,
        role: a.role,
        state: a.state,
        capabilities: a.capabilities,
        concurrency: a.concurrency,
        load: i && i.beats > 0 ? i.load : null,
        heartbeatAgeMs: ageMs,
        lastHeartbeatAt: lastAt === null ? null : new Date(lastAt).toISOString(),
        registeredAt: a.registeredAt.toISOString(),
        stateChangedAt: a.stateChangedAt.toISOString(),
        healthScore: healthScore({
          state: a.state,
          heartbeatAgeMs: ageMs ?? Number.POSITIVE_INFINITY,
          meanHeartbeatGapMs: i?.gapMs ?? null,
          heartbeatIntervalMs: this.settings.heartbeatIntervalMs,
          staleAfterMs: this.settings.staleAfterMs,
          completed: recent.completed,
          failed: recent.failed,
        }),
        recent,
      };
    });
    const byState: Record<string, number> = {};
    for (const r of rows) byState[r.state] = (byState[r.state] ?? 0) + 1;
    return { generatedAt: new Date(now).toISOString(), total, byState, agents: rows };
  }

  private async readHeartbeats(): Promise<HeartbeatsReply> {
    const live = await this.agents.list({ includeEnded: false, limit: 100_000 });
    const { now, beats } = await this.liveness.all();
    const agents = live
      .map((a) => {
        const at = beats.get(a.id) ?? a.lastHeartbeatAt.getTime();
        return {
          id: a.id,
          name: a.name,
          role: a.role,
          state: a.state,
          heartbeatAgeMs: Math.max(0, now - at),
        };
      })
      .sort((x, y) => y.heartbeatAgeMs - x.heartbeatAgeMs);
    return {
      generatedAt: new Date(now).toISOString(),
      heartbeatIntervalMs: this.settings.heartbeatIntervalMs,
      staleAfterMs: this.settings.staleAfterMs,
      deadAfterMs: this.settings.deadAfterMs,
      agents,
      stale: agents.filter((a) => a.state === "stale").map((a) => a.id),
    };
  }
}
