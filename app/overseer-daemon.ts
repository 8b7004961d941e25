import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { ApiDeps } from "../api/api-deps.ts";
import { Authenticator } from "../api/auth.ts";
import { buildServer } from "../api/server.ts";
import { AgentService } from "../daemon/agents/agent-service.ts";
import { KpiReads } from "../daemon/analytics/kpi-reads.ts";
import { BudgetService } from "../daemon/budgets/budget-service.ts";
import type { OverseerConfig } from "../daemon/config/compile-config.ts";
import { CoordinationRedis } from "../daemon/coordination/coordination-redis.ts";
import { CoordinationService } from "../daemon/coordination/coordination-service.ts";
import { DashboardReads } from "../daemon/dashboard/dashboard-reads.ts";
import { ReadySignal } from "../daemon/dispatch/ready-signal.ts";
import { redisKeys } from "../daemon/dispatch/redis-keys.ts";
import { TaskQueues } from "../daemon/dispatch/task-queues.ts";
import { EventBus } from "../daemon/events/event-bus.ts";
import { FeedbackService } from "../daemon/feedback/feedback-service.ts";
import { FeedHub, type SnapshotReader } from "../daemon/feeds/feed-hub.ts";
import { snapshotReader } from "../daemon/feeds/feed-snapshots.ts";
import { FeedStream } from "../daemon/feeds/feed-stream.ts";
import { fenceSql } from "../daemon/leader/fence-store.ts";
import { LeaderElection } from "../daemon/leader/leader-election.ts";
import { LeaderLease } from "../daemon/leader/leader-lease.ts";
import { runBoundedSteps } from "../daemon/lifecycle/bounded-steps.ts";
import { IntervalLoop } from "../daemon/lifecycle/interval-loop.ts";
import { Lifecycle } from "../daemon/lifecycle/lifecycle.ts";
import { HeartbeatStore } from "../daemon/liveness/heartbeat-store.ts";
import { sweepLiveness } from "../daemon/liveness/liveness-sweeper.ts";
import { CostReads } from "../daemon/llm/cost-reads.ts";
import { LlmCallService } from "../daemon/llm/llm-call-service.ts";
import { TrainingExport } from "../daemon/llm/training-export.ts";
import { OverrideGate } from "../daemon/overrides/override-gate.ts";
import { OverrideService } from "../daemon/overrides/override-service.ts";
import { overrideSql } from "../daemon/overrides/override-store.ts";
import { ArtifactService } from "../daemon/pipelines/artifact-service.ts";
import { PipelineEngine } from "../daemon/pipelines/pipeline-engine.ts";
import { PipelineService } from "../daemon/pipelines/pipeline-service.ts";
import { readTemplateFiles } from "../daemon/pipelines/template-files.ts";
import { TemplateStore } from "../daemon/pipelines/template-store.ts";
import { WorkflowReads } from "../daemon/pipelines/workflow-reads.ts";
import { poolExec, RetentionService } from "../daemon/retention/retention-service.ts";
import { ScheduleService } from "../daemon/schedules/schedule-service.ts";
import { AgentStore } from "../daemon/store/agent-store.ts";
import { AuditReads } from "../daemon/store/audit-log.ts";
import { migrate } from "../daemon/store/migrate.ts";
import { createPool, type Db } from "../daemon/store/pg-pool.ts";
import { connectRedis } from "../daemon/store/redis-connect.ts";
import { TaskStore } from "../daemon/store/task-store.ts";
import { retryDelayMs } from "../daemon/tasks/backoff.ts";
import { Reconciler } from "../daemon/tasks/reconciler.ts";
import { TaskService } from "../daemon/tasks/task-service.ts";
import { logSink } from "../daemon/telemetry/log-sink.ts";
import { OverseerMetrics } from "../daemon/telemetry/metrics.ts";
import { StateGauges } from "../daemon/telemetry/state-gauges.ts";
import { VERSION } from "../daemon/version.ts";
import { CanaryProbe } from "../probes/canary-probe.ts";
import { SystemHealth } from "../probes/system-health.ts";
import { buildRecovery, type RecoveryRuntime } from "../recovery/recovery-wiring.ts";
import { resolveServices } from "./embedded/resolve-services.ts";

export interface DaemonOptions {
  config: OverseerConfig;
  logger: Logger;
  replicaId?: string;
  /** The process's tracing (daemon/telemetry/tracing.ts), flushed and stopped as the last shutdown step. */
  tracing?: { shutdown(): Promise<void> } | null;
}

/**
 * The composition root: builds stores, services, loops and the API from the config, and owns the
 * lifecycle. Everything a second replica needs is in Redis or Postgres; this object holds caches only.
 */
export class OverseerDaemon {
  readonly lifecycle: Lifecycle;
  readonly bus: EventBus;
  readonly metrics = new OverseerMetrics();
  readonly replicaId: string;
  app: FastifyInstance | null = null;
  url = "";
  private db: Db | null = null;
  private intakeDb: Db | undefined;
  private redises: Redis[] = [];
  private queues: TaskQueues | null = null;
  private ready: ReadySignal | null = null;
  private tasks: TaskService | null = null;
  private leader: LeaderElection | null = null;
  /** The WebSocket feeds of this replica (tests look at its sessions). */
  feeds: FeedHub | null = null;
  private loops: IntervalLoop[] = [];
  private recovery: RecoveryRuntime | null = null;
  private stopServices: () => Promise<void> = async () => {};
  private stopping: Promise<void> | null = null;
  /** Shutdown steps abandoned because they overran the grace time (for logs and tests). */
  readonly drainOverruns: string[] = [];
  private requestsInFlight = 0;

  constructor(private readonly options: DaemonOptions) {
    const log = options.logger;
    this.replicaId = options.replicaId ?? randomUUID();
    this.lifecycle = new Lifecycle((from, to) => log.info({ from, to }, `lifecycle ${to}`));
    this.bus = new EventBus(Date.now, (error, event) =>
      log.warn({ err: error, event: event.type }, "event sink failed"),
    );
    this.bus.subscribe(this.metrics.onEvent);
    this.bus.subscribe(logSink(log));
  }

  /** Starts everything and listens; resolves with the base URL. */
  async start(): Promise<string> {
    const { config, logger: log } = this.options;
    this.lifecycle.to("STARTING");
    try {
      const services = await resolveServices({
        redisUrl: config.redisUrl,
        redisUrlExplicit: config.redisUrlExplicit,
        databaseUrl: config.databaseUrl,
        databaseUrlExplicit: config.databaseUrlExplicit,
        dataDir: config.dataDir,
        logger: log,
        allowEmbedded: config.allowEmbedded,
      });
      this.stopServices = services.stop;
      const db = createPool(
        services.databaseUrl,
        config.namespace,
        services.pgPoolOptions ?? { max: config.pgPoolSize },
      );
      db.on("error", (error) => log.warn({ err: error }, "postgres pool error"));
      this.db = db;
      // Accepting work stays fast under a backlog: pipeline executes commit through their own small
      // pool instead of queueing behind supervision passes for the main one. (Embedded PGlite takes
      // one connection at a time, so there it is the same pool.)
      const intake = services.pgPoolOptions
        ? db
        : createPool(services.databaseUrl, config.namespace, { max: config.pgIntakePoolSize });
      if (intake !== db) {
        intake.on("error", (error) => log.warn({ err: error }, "postgres intake pool error"));
        this.intakeDb = intake;
      }
      await migrate(db, config.namespace, (msg) => log.debug({ migration: msg }, "migration"));

      const redis = this.redis(services.redisUrl, { maxRetriesPerRequest: 2 });
      const bullConnection = this.redis(services.redisUrl, { maxRetriesPerRequest: null });
      const subscriber = this.redis(services.redisUrl, { maxRetriesPerRequest: null });
      await this.checkRedisPolicy(redis);
      await this.checkAutovacuum(db);

      const onError = (error: unknown, context: string) => {
        log.warn({ err: error, context }, "background operation failed");
      };
      const keys = redisKeys(config.namespace);
      const taskStore = new TaskStore(db, {
        delayMs: (n) => retryDelayMs(n, config.retryBaseMs, config.retryMaxMs),
      });
      const agentStore = new AgentStore(db, taskStore);
      const liveness = new HeartbeatStore(redis, keys);
      this.queues = new TaskQueues(bullConnection, keys.bullPrefix, (e) => onError(e, "bullmq"));
      this.ready = new ReadySignal(redis, subscriber, keys.readyChannel, (e) => onError(e, "ready signal"));
      await this.ready.start();
      const tasks = new TaskService(
        taskStore,
        this.queues,
        this.ready,
        liveness,
        this.bus,
        { maxAttempts: config.defaultMaxAttempts, timeoutMs: config.defaultTaskTimeoutMs },
        onError,
      );
      this.tasks = tasks;
      const agents = new AgentService(
        agentStore,
        liveness,
        tasks,
        this.bus,
        config.heartbeatIntervalMs,
        onError,
      );
      const reconciler = new Reconciler(taskStore, agentStore, this.queues, liveness, tasks, this.bus);
      const budgets = new BudgetService(db, this.bus);
      const gauges = new StateGauges(
        this.metrics,
        db,
        agentStore,
        liveness,
        config.metricsMaxAgentSeries,
        budgets,
      );
      const election = new LeaderElection(
        new LeaderLease(redis, keys.leader, keys.leaderEpoch, this.replicaId, config.leaderLeaseMs),
        {
          floor: () => fenceSql.floor(db),
          install: (epoch, replicaId, lockTimeoutMs) => fenceSql.install(db, epoch, replicaId, lockTimeoutMs),
          recordActions: (stats) => fenceSql.recordActions(db, stats),
        },
        this.bus,
        (error) =>
          this.bus.emit("loop.error", {
            loop: "leader",
            message: (error as Error)?.message ?? String(error),
          }),
      );
      this.leader = election;
      this.metrics.buildInfo.set({ version: VERSION, namespace: config.namespace }, 1);

      const templateStore = new TemplateStore(db);
      const engine = new PipelineEngine(
        db,
        templateStore,
        taskStore,
        tasks,
        this.bus,
        { maxAttempts: config.defaultMaxAttempts, timeoutMs: config.defaultTaskTimeoutMs },
        budgets,
      );
      const pipelines = new PipelineService(db, templateStore, engine, taskStore, this.bus, onError, intake);
      await pipelines.start(await readTemplateFiles(config.templatesDir));
      const schedules = new ScheduleService(db, pipelines, this.bus, onError);
      // Coordination (docs/coordination.md): reads and levers; reassigned tasks reach their target
      // through a directed list the claim path reads first.
      const coordinationRedis = new CoordinationRedis(redis, keys);
      tasks.setDirectedSource(coordinationRedis);
      const coordination = new CoordinationService({
        db,
        tasks,
        queues: this.queues,
        reconciler,
        liveness,
        redis: coordinationRedis,
        bus: this.bus,
        loops: () => [election.status(), ...this.loops.map((l) => l.status())],
        sweepIntervalMs: config.sweepIntervalMs,
        quarantined: (name) => this.recovery?.deps.gate.isQuarantined(name) ?? false,
      });

      // Emergency overrides: a cached gate on the claim and intake paths, refreshed from Postgres;
      // the expiry check runs on every replica (a conditional UPDATE ends each override once).
      const overrideGate = new OverrideGate(
        () => overrideSql.activeActions(db),
        (counts) => {
          for (const [action, n] of Object.entries(counts)) this.metrics.overrideActive.set({ action }, n);
        },
        (e) => onError(e, "read overrides"),
      );
      await overrideGate.refresh();
      tasks.setDispatchPause(() => overrideGate.dispatchPaused());
      const overrides = new OverrideService(
        db,
        tasks,
        this.queues,
        liveness,
        this.bus,
        overrideGate,
        onError,
      );
      overrides.setAgentDrainer((agentId, reason) =>
        agents.move(agentId, ["active", "stale"], "draining", reason),
      );
      const overrideLoop = new IntervalLoop(
        "overrides",
        config.overrideCheckIntervalMs,
        async () => {
          await overrides.expireDue();
        },
        (error, loop) =>
          this.bus.emit("loop.error", { loop, message: (error as Error)?.message ?? String(error) }),
      );

      this.startLoops(agents, tasks, reconciler, liveness, config);
      const pipelineLoop = new IntervalLoop(
        "pipelines",
        config.pipelineSweepIntervalMs,
        async () => {
          await pipelines.refreshCapabilities();
          await election.asLeader(() => pipelines.sweep());
        },
        (error, loop) =>
          this.bus.emit("loop.error", { loop, message: (error as Error)?.message ?? String(error) }),
      );
      this.loops.push(pipelineLoop);
      pipelineLoop.start();
      // Retention (docs/retention.md): the leader deletes finished history older than its keep, in
      // bounded batches. (Imported here so this wiring stays one block; hoist it at will.)
      const retention = new RetentionService(poolExec(db), this.bus, {
        keep: config.retention,
        // Deleted agents leave the Redis state mirror too: it keeps ended agents (a late heartbeat
        // gets 404), so without this it grows by one field per agent ever registered (docs/soak.md).
        onAgentsDeleted: async (ids) => {
          await redis.hdel(keys.agentStates, ...ids);
        },
      });
      const retentionLoop = new IntervalLoop(
        "retention",
        config.retentionIntervalMs,
        // Leader only, fenced: retention runs its deletes in transactions (withTransaction).
        () => election.asLeader(() => retention.run()),
        (error, loop) =>
          this.bus.emit("loop.error", { loop, message: (error as Error)?.message ?? String(error) }),
      );
      this.loops.push(retentionLoop);
      retentionLoop.start();
      // Leader only and fenced; the row lock and the tick's primary key would also make each tick
      // fire once if two replicas ever looked at the same time.
      const scheduleLoop = new IntervalLoop(
        "schedules",
        config.scheduleIntervalMs,
        () => election.asLeader(() => schedules.tick()),
        (error, loop) =>
          this.bus.emit("loop.error", { loop, message: (error as Error)?.message ?? String(error) }),
      );
      this.loops.push(scheduleLoop);
      scheduleLoop.start();
      // The canary (probes/): leader only; it ticks often enough to notice an answer or a timeout
      // well within the interval, and launches at most one task per role per interval.
      if (config.canaryEnabled) {
        const canary = new CanaryProbe(db, redis, tasks, taskStore, this.bus, {
          namespace: config.namespace,
          intervalMs: config.canaryIntervalMs,
          timeoutMs: config.canaryTimeoutMs,
          isLeader: () => election.isLeader(),
        });
        const every = Math.min(
          1_000,
          Math.max(50, Math.floor(Math.min(config.canaryIntervalMs, config.canaryTimeoutMs) / 5)),
        );
        const canaryLoop = new IntervalLoop(
          "canary",
          every,
          // A follower's pass only forgets what it tracked; the leader's is fenced.
          () => (election.isLeader() ? election.asLeader(() => canary.tick()) : canary.tick()),
          (error, loop) =>
            this.bus.emit("loop.error", { loop, message: (error as Error)?.message ?? String(error) }),
        );
        this.loops.push(canaryLoop);
        canaryLoop.start();
      }
      const systemHealth = new SystemHealth({
        db,
        redis,
        namespace: config.namespace,
        replicaId: this.replicaId,
        leaderKey: keys.leader,
        registry: this.metrics.registry,
        canaryEnabled: config.canaryEnabled,
        lifecycle: () => this.lifecycle.state,
      });
      this.bus.subscribe(systemHealth.onEvent);
      this.loops.push(overrideLoop);
      overrideLoop.start();

      // Agent restarts, auto-heal (leader loop) and this replica's managed agents (recovery/).
      const recovery = await buildRecovery({
        config,
        db,
        redis,
        agents,
        agentStore,
        taskStore,
        tasks,
        liveness,
        bus: this.bus,
        metrics: this.metrics,
        asLeader: (fn) => election.asLeader(fn),
        onError,
      });
      this.recovery = recovery;
      this.loops.push(...recovery.loops);
      for (const loop of recovery.loops) loop.start();

      const auth = new Authenticator({
        tokens: config.tokens,
        agentSecret: config.agentSecret,
        namespace: config.namespace,
      });
      // WebSocket feeds: this replica's events go to the namespace's Redis stream; its reader fans
      // every replica's events out to the clients connected here.
      let readSnapshot: SnapshotReader = async () => ({});
      const feeds = new FeedHub(
        new FeedStream(
          redis,
          this.redis(services.redisUrl, { maxRetriesPerRequest: null }),
          keys.feedStream,
          config.wsStreamMaxLen,
          onError,
        ),
        (feed, filter) => readSnapshot(feed, filter),
        {
          maxQueuedMessages: config.wsMaxQueuedMessages,
          maxBufferedBytes: config.wsMaxBufferedBytes,
          pingIntervalMs: config.wsPingIntervalMs,
        },
        this.metrics,
        onError,
      );
      this.feeds = feeds;
      this.bus.subscribe(feeds.sink);
      const deps: ApiDeps = {
        version: VERSION,
        config,
        auth,
        agents,
        tasks,
        pipelines,
        schedules,
        artifacts: new ArtifactService(db, engine, taskStore, this.bus),
        workflow: new WorkflowReads(db, pipelines),
        costs: new CostReads(db),
        kpis: new KpiReads(db, budgets),
        dashboard: new DashboardReads(db, agentStore, liveness, {
          heartbeatIntervalMs: config.heartbeatIntervalMs,
          staleAfterMs: config.agentStaleAfterMs,
          deadAfterMs: config.agentDeadAfterMs,
        }),
        llmCalls: new LlmCallService(db, this.bus, config.llmPricing),
        budgets,
        feedback: new FeedbackService(db, this.bus),
        trainingExport: new TrainingExport(db),
        recovery: recovery.deps,
        coordination,
        overrides,
        audit: new AuditReads(db),
        metrics: this.metrics,
        feeds,
        renderMetrics: async () => {
          await gauges.refresh();
          return this.metrics.registry.metrics();
        },
        health: () => ({ live: this.lifecycle.state !== "FAILED", lifecycle: this.lifecycle.state }),
        readiness: () => systemHealth.readiness(),
        systemHealth: () => systemHealth.report(),
      };
      readSnapshot = snapshotReader({
        dashboard: deps.dashboard,
        pipelines,
        system: async () => ({
          replicaId: this.replicaId,
          version: VERSION,
          namespace: config.namespace,
          leaderEpoch: this.leader?.currentEpoch() ?? 0,
          ...(await deps.readiness()),
        }),
      });
      await feeds.start();
      this.app = await buildServer(deps, log);
      this.app.server.on("request", (_req, res) => {
        this.requestsInFlight++;
        res.once("close", () => this.requestsInFlight--);
      });
      this.url = await this.app.listen({ port: config.port, host: config.host });
      recovery.startManaged(this.url);
      this.lifecycle.to("RUNNING");
      log.info(
        { url: this.url, namespace: config.namespace, replicaId: this.replicaId },
        "overseer is running",
      );
      return this.url;
    } catch (error) {
      this.lifecycle.to("FAILED");
      await this.release().catch(() => {});
      throw error;
    }
  }

  private startLoops(
    agents: AgentService,
    tasks: TaskService,
    reconciler: Reconciler,
    liveness: HeartbeatStore,
    config: OverseerConfig,
  ): void {
    const onLoopError = (error: unknown, loop: string) => {
      this.bus.emit("loop.error", { loop, message: (error as Error)?.message ?? String(error) });
    };
    const election = this.leader as LeaderElection;
    // Leader-only loops check leadership on every pass and run it fenced (docs/scaling.md), so a
    // replica that lost the lease, or was paused past it, changes nothing.
    const sweep = () =>
      election.asLeader(async () => {
        await sweepLiveness(liveness, agents, {
          staleAfterMs: config.agentStaleAfterMs,
          deadAfterMs: config.agentDeadAfterMs,
        });
        await tasks.expireOverdue();
      });
    const reconcile = () => election.asLeader(() => reconciler.run());
    this.loops = [
      new IntervalLoop("liveness", config.sweepIntervalMs, sweep, onLoopError),
      new IntervalLoop("reconcile", config.reconcileIntervalMs, reconcile, onLoopError),
    ];
    election.start();
    for (const loop of this.loops) loop.start();
  }

  private redis(url: string, opts: { maxRetriesPerRequest: number | null }): Redis {
    const target = { url, clusterNodes: this.options.config.redisClusterNodes };
    const client = connectRedis(target, { ...opts, enableReadyCheck: true, lazyConnect: false });
    client.on("error", (error) => this.options.logger.warn({ err: error }, "redis connection error"));
    this.redises.push(client);
    return client;
  }

  /**
   * Retention deletes finished rows; without (auto)vacuum their space is never reused and the
   * tables grow anyway (docs/retention.md). Warn, as for Redis's eviction policy.
   */
  private async checkAutovacuum(db: Db): Promise<void> {
    try {
      const r = await db.query<{ autovacuum: string }>("SHOW autovacuum");
      if (r.rows[0]?.autovacuum === "off") {
        this.options.logger.warn(
          "Postgres autovacuum is off: rows deleted by retention leave dead space the tables never reuse; turn it on or VACUUM on a schedule",
        );
      }
    } catch (error) {
      this.options.logger.warn({ err: error }, "could not read Postgres autovacuum setting");
    }
  }

  /** Redis must never evict: an evicted queue entry or lease is silently lost work. */
  private async checkRedisPolicy(redis: Redis): Promise<void> {
    try {
      const reply = (await redis.config("GET", "maxmemory-policy")) as string[];
      const policy = reply[1];
      if (policy && policy !== "noeviction") {
        this.options.logger.error(
          { policy },
          `Redis maxmemory-policy is ${policy}: set it to noeviction, or Redis may evict queued work under memory pressure`,
        );
      }
    } catch (error) {
      this.options.logger.warn(
        { err: error },
        "could not read Redis maxmemory-policy (CONFIG may be disabled)",
      );
    }
  }

  /**
   * Drains and stops: readiness fails, claims return empty, loops stop, in-flight requests finish,
   * connections close. Bounded by the grace time; idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.drain();
    return this.stopping;
  }

  private async drain(): Promise<void> {
    const state = this.lifecycle.state;
    if (state === "STOPPED" || state === "FAILED") return;
    if (state === "INITIALIZED") {
      this.lifecycle.to("STOPPED");
      return;
    }
    this.lifecycle.to("DRAINING");
    this.tasks?.stopClaiming();
    await this.release();
    this.lifecycle.to("STOPPED");
  }

  /**
   * Closes the HTTP server gracefully: requests in flight finish; then every remaining socket is
   * closed. Without that, a keep-alive socket that carries no request (an agent's pooled connection)
   * holds close() open until its keep-alive timeout.
   */
  private async closeHttp(): Promise<void> {
    const app = this.app;
    if (!app) return;
    const sweep = setInterval(() => {
      if (this.requestsInFlight === 0) app.server.closeAllConnections();
      else app.server.closeIdleConnections();
    }, 50);
    try {
      await app.close();
    } finally {
      clearInterval(sweep);
    }
  }

  private async release(): Promise<void> {
    // Managed children must be gone (SIGKILL at the latest) with some of the grace left for the steps after.
    const grace = this.options.config.shutdownGraceMs;
    const managedDeadline = Date.now() + grace - Math.min(1_000, Math.floor(grace / 4));
    const { overran } = await runBoundedSteps(
      [
        ["loops", () => Promise.allSettled(this.loops.map((l) => l.stop()))],
        ["leader", async () => this.leader?.stop()],
        // Upgraded feed sockets would hold the HTTP server's close open: close them first.
        // Managed children deregister over HTTP as they stop: before the server closes.
        ["managed-agents", async () => this.recovery?.stop(managedDeadline)],
        ["ws-feeds", async () => this.feeds?.stop()],
        ["http", () => this.closeHttp()],
        ["ready-signal", async () => this.ready?.stop()],
        ["queues", async () => this.queues?.close()],
        ["redis", () => Promise.allSettled(this.redises.map((r) => r.quit()))],
        ["postgres", async () => Promise.all([this.db?.end(), this.intakeDb?.end()])],
        ["embedded-services", () => this.stopServices()],
        // Last: the spans of everything that ended while draining are exported before exit.
        ["tracing", async () => this.options.tracing?.shutdown()],
      ],
      this.options.config.shutdownGraceMs,
    );
    if (overran.length > 0) {
      this.drainOverruns.push(...overran);
      this.options.logger.error({ steps: overran }, "shutdown steps overran the grace time: abandoned");
      for (const r of this.redises) r.disconnect();
    }
  }
}
