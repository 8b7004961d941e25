import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { ApiDeps } from "../../api/api-deps.ts";
import { Authenticator } from "../../api/auth.ts";
import { type App, buildServer } from "../../api/server.ts";
import type { LifecycleState } from "../../contract/schemas/health.ts";
import { AgentSessions } from "../../daemon/agents/agent-sessions.ts";
import type { OverseerConfig } from "../../daemon/config/compile-config.ts";
import { DashboardReads } from "../../daemon/dashboard/dashboard-reads.ts";
import type { EventBus } from "../../daemon/events/event-bus.ts";
import { FeedHub, type SnapshotReader } from "../../daemon/feeds/feed-hub.ts";
import { snapshotReader } from "../../daemon/feeds/feed-snapshots.ts";
import type { Db } from "../../daemon/store/pg-pool.ts";
import { FeedStream } from "../../daemon/store/redis/feed-stream.ts";
import { SessionStore } from "../../daemon/store/redis/session-store.ts";
import { FigureGauges } from "../../daemon/telemetry/figure-gauges.ts";
import type { OverseerMetrics } from "../../daemon/telemetry/metrics.ts";
import { sharedResult } from "../../daemon/telemetry/scrape-throttle.ts";
import { StateGauges } from "../../daemon/telemetry/state-gauges.ts";
import { VERSION } from "../../daemon/version.ts";
import type { SystemHealth } from "../../probes/system-health.ts";
import type { RecoveryDeps } from "../../recovery/recovery-deps.ts";
import type { ControlArea } from "./control.ts";
import type { DispatchLayer } from "./dispatch.ts";
import type { LlmArea } from "./llm.ts";
import type { PipelineArea } from "./pipelines.ts";
import type { TaskArea } from "./tasks.ts";

export interface ApiParts {
  config: OverseerConfig;
  db: Db;
  redis: Redis;
  /** The feed stream's blocking reader gets a connection of its own. */
  feedReader: Redis;
  bus: EventBus;
  metrics: OverseerMetrics;
  layer: DispatchLayer;
  tasks: TaskArea;
  pipelines: PipelineArea;
  llm: LlmArea;
  control: ControlArea;
  recovery: RecoveryDeps;
  systemHealth: SystemHealth;
  replicaId: string;
  lifecycle: () => LifecycleState;
  leaderEpoch: () => number;
  onError: (error: unknown, context: string) => void;
  logger: Logger;
}

/**
 * The API over the services (it never sees Redis or Postgres) and the WebSocket feeds: this
 * replica's events go to the namespace's Redis stream, whose reader fans every replica's events
 * out to the clients connected here.
 */
export async function wireApi(p: ApiParts): Promise<{ app: App; feeds: FeedHub }> {
  const { config, layer } = p;
  const gauges = new StateGauges(
    p.metrics,
    p.db,
    layer.agentStore,
    layer.liveness,
    config.metricsMaxAgentSeries,
    p.llm.budgets,
  );
  const figureGauges = new FigureGauges(p.metrics.registry, p.db);
  let readSnapshot: SnapshotReader = async () => ({});
  const feeds = new FeedHub(
    new FeedStream(
      p.redis,
      p.feedReader,
      layer.keys.feedStream,
      config.wsStreamMaxLen,
      p.onError,
      config.wsStreamRetentionMs,
    ),
    (feed, filter) => readSnapshot(feed, filter),
    {
      maxQueuedMessages: config.wsMaxQueuedMessages,
      maxBufferedBytes: config.wsMaxBufferedBytes,
      pingIntervalMs: config.wsPingIntervalMs,
    },
    p.metrics,
    p.onError,
  );
  p.bus.subscribe(feeds.sink);
  const deps: ApiDeps = {
    version: VERSION,
    config,
    auth: new Authenticator({
      tokens: config.tokens,
      agentSecret: config.agentSecret,
      namespace: config.namespace,
    }),
    agents: p.tasks.agents,
    tasks: p.tasks.tasks,
    taskOperator: p.tasks.operator,
    pipelines: p.pipelines.pipelines,
    schedules: p.pipelines.schedules,
    artifacts: p.pipelines.artifacts,
    workflow: p.pipelines.workflow,
    ...p.llm,
    dashboard: new DashboardReads(
      p.db,
      layer.agentStore,
      layer.liveness,
      {
        heartbeatIntervalMs: config.heartbeatIntervalMs,
        staleAfterMs: config.agentStaleAfterMs,
        deadAfterMs: config.agentDeadAfterMs,
      },
      config.dashboardSnapshotMs,
    ),
    recovery: p.recovery,
    coordination: p.control.coordination,
    overrides: p.control.overrides,
    audit: p.control.audit,
    metrics: p.metrics,
    sessions: new AgentSessions({
      directory: new SessionStore(p.redis, layer.keys),
      declareDead: (agentId, reason, silentMs) =>
        p.tasks.agents.move(agentId, ["active", "stale", "draining"], "dead", reason, silentMs),
      graceMs: config.sessionGraceMs,
      observe: {
        opened: (resumed) => {
          p.metrics.agentSessions.inc();
          if (resumed) p.metrics.agentSessionsResumed.inc();
        },
        closed: (reason) => {
          p.metrics.agentSessions.dec();
          p.metrics.agentSessionDisconnects.inc({ reason });
        },
        graceExpired: () => p.metrics.agentSessionGraceExpiries.inc(),
      },
      onError: p.onError,
    }),
    feeds,
    renderMetrics: sharedResult(async () => {
      await Promise.all([gauges.refresh(), figureGauges.refresh()]);
      return p.metrics.registry.metrics();
    }, config.metricsMinRenderIntervalMs),
    health: () => ({ live: p.lifecycle() !== "FAILED", lifecycle: p.lifecycle() }),
    readiness: () => p.systemHealth.readiness(),
    systemHealth: () => p.systemHealth.report(),
  };
  readSnapshot = snapshotReader({
    dashboard: deps.dashboard,
    pipelines: deps.pipelines,
    system: async () => ({
      replicaId: p.replicaId,
      version: VERSION,
      namespace: config.namespace,
      leaderEpoch: p.leaderEpoch(),
      ...(await deps.readiness()),
    }),
  });
  await feeds.start();
  return { app: await buildServer(deps, p.logger), feeds };
}
