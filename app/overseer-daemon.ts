import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { OverseerConfig } from "../daemon/config/compile-config.ts";
import { EventBus } from "../daemon/events/event-bus.ts";
import type { FeedHub } from "../daemon/feeds/feed-hub.ts";
import { LeaderElection } from "../daemon/leader/leader-election.ts";
import { runBoundedSteps } from "../daemon/lifecycle/bounded-steps.ts";
import type { IntervalLoop } from "../daemon/lifecycle/interval-loop.ts";
import { Lifecycle } from "../daemon/lifecycle/lifecycle.ts";
import { LeaderFenceStore } from "../daemon/store/leader-fence-store.ts";
import { LeaderLease } from "../daemon/store/redis/leader-lease.ts";
import type { ReadySignal } from "../daemon/store/redis/ready-signal.ts";
import type { TaskQueues } from "../daemon/store/redis/task-queues.ts";
import type { TaskService } from "../daemon/tasks/task-service.ts";
import { logSink } from "../daemon/telemetry/log-sink.ts";
import { OverseerMetrics } from "../daemon/telemetry/metrics.ts";
import { VERSION } from "../daemon/version.ts";
import { Connections } from "./connections.ts";
import { buildLoops } from "./leader-loops.ts";
import { checkAutovacuum, checkRedisPolicy } from "./startup-checks.ts";
import { wireApi } from "./wiring/api.ts";
import { wireControl } from "./wiring/control.ts";
import { wireDispatch } from "./wiring/dispatch.ts";
import { wireLlm } from "./wiring/llm.ts";
import { wirePipelines } from "./wiring/pipelines.ts";
import { wireProbes } from "./wiring/probes.ts";
import { type RecoveryRuntime, wireRecovery } from "./wiring/recovery.ts";
import { wireTasks } from "./wiring/tasks.ts";

export interface DaemonOptions {
  config: OverseerConfig;
  logger: Logger;
  replicaId?: string;
  /** The process's tracing (daemon/telemetry/tracing.ts), flushed and stopped as the last shutdown step. */
  tracing?: { shutdown(): Promise<void> } | null;
}

/**
 * The composition root: opens the connections, wires each area (app/wiring/), starts the loops
 * from one table (app/leader-loops.ts) and the API, and owns the lifecycle. Everything a second
 * replica needs is in Redis or Postgres; this object holds caches only.
 */
export class OverseerDaemon {
  readonly lifecycle: Lifecycle;
  readonly bus: EventBus;
  readonly metrics: OverseerMetrics;
  readonly replicaId: string;
  app: FastifyInstance | null = null;
  url = "";
  /** The WebSocket feeds of this replica (tests look at its sessions). */
  feeds: FeedHub | null = null;
  private connections: Connections | null = null;
  private queues: TaskQueues | null = null;
  private ready: ReadySignal | null = null;
  private tasks: TaskService | null = null;
  private leader: LeaderElection | null = null;
  private loops: IntervalLoop[] = [];
  private recovery: RecoveryRuntime | null = null;
  private stopping: Promise<void> | null = null;
  /** Shutdown steps abandoned because they overran the grace time (for logs and tests). */
  readonly drainOverruns: string[] = [];
  private requestsInFlight = 0;

  constructor(private readonly options: DaemonOptions) {
    const log = options.logger;
    this.metrics = new OverseerMetrics(undefined, {
      roles: options.config.metricsMaxRoles,
      taskTypes: options.config.metricsMaxTaskTypes,
    });
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
      const c = await Connections.open(config, log);
      this.connections = c;
      const { db, intakeDb } = c;
      const redis = c.redis({ maxRetriesPerRequest: 2, enableAutoPipelining: true });
      const bullConnection = c.redis({ maxRetriesPerRequest: null, enableAutoPipelining: true });
      const subscriber = c.redis({ maxRetriesPerRequest: null });
      await checkRedisPolicy(redis, log);
      await checkAutovacuum(db, log);
      const bus = this.bus;
      const onError = (error: unknown, context: string) => {
        log.warn({ err: error, context }, "background operation failed");
      };

      const layer = await wireDispatch({
        config,
        db,
        redis,
        bullConnection,
        subscriber,
        bus,
        metrics: this.metrics,
        onError,
      });
      this.queues = layer.queues;
      this.ready = layer.ready;
      const election = new LeaderElection(
        new LeaderLease(
          redis,
          layer.keys.leader,
          layer.keys.leaderEpoch,
          this.replicaId,
          config.leaderLeaseMs,
        ),
        new LeaderFenceStore(db),
        bus,
        (error) =>
          bus.emit("loop.error", { loop: "leader", message: (error as Error)?.message ?? String(error) }),
      );
      this.leader = election;
      this.metrics.buildInfo.set({ version: VERSION, namespace: config.namespace }, 1);

      const llm = wireLlm({ config, db, reportDb: c.reportDb, bus });
      const pipelines = await wirePipelines({
        config,
        db,
        intakeDb,
        bus,
        taskStore: layer.taskStore,
        dispatch: layer.dispatch,
        budgets: llm.budgets,
        onError,
      });
      const tasks = wireTasks({ config, db, layer, bus, outcomes: pipelines.pipelines, onError });
      this.tasks = tasks.tasks;
      const control = wireControl({
        config,
        db,
        redis,
        bus,
        layer,
        tasks,
        loopStatus: () => [election.status(), ...this.loops.map((l) => l.status())],
        onError,
      });
      const lifecycle = () => this.lifecycle.state;
      const probes = wireProbes({
        config,
        db,
        redis,
        bus,
        metrics: this.metrics,
        layer,
        tasks,
        election,
        replicaId: this.replicaId,
        lifecycle,
      });
      // Agent restarts, auto-heal (leader loop) and this replica's managed agents (recovery/).
      const recovery = await wireRecovery({
        config,
        db,
        agents: tasks.agents,
        tasks: tasks.tasks,
        bus,
        metrics: this.metrics,
        gate: layer.healGates,
        onError,
      });
      this.recovery = recovery;

      // Every background loop, from one table with one error handler.
      const loopSpecs = [
        ...tasks.loops,
        ...pipelines.loops,
        ...control.loops,
        ...probes.loops,
        ...recovery.loops,
      ];
      // Each loop's error counter exists at 0 from the first scrape.
      this.metrics.known.loops(loopSpecs.map((l) => l.name));
      this.loops = buildLoops(loopSpecs, election, bus);
      election.start();
      for (const loop of this.loops) loop.start();

      const api = await wireApi({
        config,
        db,
        redis,
        feedReader: c.redis({ maxRetriesPerRequest: null }),
        bus,
        metrics: this.metrics,
        layer,
        tasks,
        pipelines,
        llm,
        control,
        recovery: recovery.deps,
        systemHealth: probes.systemHealth,
        replicaId: this.replicaId,
        lifecycle,
        leaderEpoch: () => this.leader?.currentEpoch() ?? 0,
        onError,
        logger: log,
      });
      this.feeds = api.feeds;
      this.app = api.app;
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
    const c = this.connections;
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
        ["redis", async () => c?.closeRedis()],
        ["postgres", async () => c?.closePostgres()],
        ["embedded-services", async () => c?.stopEmbeddedServices()],
        // Last: the spans of everything that ended while draining are exported before exit.
        ["tracing", async () => this.options.tracing?.shutdown()],
      ],
      grace,
    );
    if (overran.length > 0) {
      this.drainOverruns.push(...overran);
      this.options.logger.error({ steps: overran }, "shutdown steps overran the grace time: abandoned");
      c?.disconnectRedis();
    }
  }
}
