import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { OverseerConfig } from "../daemon/config/compile-config.ts";
import { migrate } from "../daemon/store/migrate.ts";
import { createPool, type Db } from "../daemon/store/pg-pool.ts";
import { connectRedis } from "../daemon/store/redis/redis-connect.ts";
import { resolveServices } from "./embedded/resolve-services.ts";

/**
 * The daemon's connections: the Postgres pools (migrated) and every Redis client, opened against
 * the configured services or the embedded ones, and closed in the order shutdown needs.
 */
export class Connections {
  private readonly redises: Redis[] = [];

  private constructor(
    private readonly config: OverseerConfig,
    private readonly log: Logger,
    readonly redisUrl: string,
    /** The main pool: supervision passes, reads, the protocol. */
    readonly db: Db,
    /**
     * Accepting work stays fast under a backlog: pipeline executes commit through their own small
     * pool instead of queueing behind supervision passes for the main one. (Embedded PGlite takes
     * one connection at a time, so there it is the main pool.)
     */
    readonly intakeDb: Db,
    /**
     * Heavy reads (the training-data export) run here, with a statement timeout: however many run,
     * the agent path's and the probes' connections in the main pool stay free. (Embedded PGlite: the
     * main pool.)
     */
    readonly reportDb: Db,
    private readonly stopEmbedded: () => Promise<void>,
  ) {}

  static async open(config: OverseerConfig, log: Logger): Promise<Connections> {
    const services = await resolveServices({
      redisUrl: config.redisUrl,
      redisUrlExplicit: config.redisUrlExplicit,
      databaseUrl: config.databaseUrl,
      databaseUrlExplicit: config.databaseUrlExplicit,
      dataDir: config.dataDir,
      logger: log,
      allowEmbedded: config.allowEmbedded,
    });
    const db = createPool(
      services.databaseUrl,
      config.namespace,
      services.pgPoolOptions ?? { max: config.pgPoolSize },
    );
    db.on("error", (error) => log.warn({ err: error }, "postgres pool error"));
    const intake = services.pgPoolOptions
      ? db
      : createPool(services.databaseUrl, config.namespace, { max: config.pgIntakePoolSize });
    if (intake !== db) intake.on("error", (error) => log.warn({ err: error }, "postgres intake pool error"));
    const report = services.pgPoolOptions
      ? db
      : createPool(services.databaseUrl, config.namespace, {
          max: config.pgReportPoolSize,
          statementTimeoutMs: config.reportStatementTimeoutMs,
        });
    if (report !== db) report.on("error", (error) => log.warn({ err: error }, "postgres report pool error"));
    const connections = new Connections(config, log, services.redisUrl, db, intake, report, services.stop);
    try {
      await migrate(db, config.namespace, (msg) => log.debug({ migration: msg }, "migration"));
    } catch (error) {
      await connections.closePostgres().catch(() => {});
      await connections.stopEmbeddedServices().catch(() => {});
      throw error;
    }
    return connections;
  }

  /** A new Redis client, closed with the others at shutdown. */
  redis(opts: { maxRetriesPerRequest: number | null; enableAutoPipelining?: boolean }): Redis {
    const target = { url: this.redisUrl, clusterNodes: this.config.redisClusterNodes };
    const client = connectRedis(target, { ...opts, enableReadyCheck: true, lazyConnect: false });
    client.on("error", (error) => this.log.warn({ err: error }, "redis connection error"));
    this.redises.push(client);
    return client;
  }

  async closeRedis(): Promise<void> {
    await Promise.allSettled(this.redises.map((r) => r.quit()));
  }

  /** Drops every Redis connection at once (a shutdown that overran its grace time). */
  disconnectRedis(): void {
    for (const r of this.redises) r.disconnect();
  }

  async closePostgres(): Promise<void> {
    await Promise.all([
      this.db.end(),
      this.intakeDb === this.db ? undefined : this.intakeDb.end(),
      this.reportDb === this.db ? undefined : this.reportDb.end(),
    ]);
  }

  stopEmbeddedServices(): Promise<void> {
    return this.stopEmbedded();
  }
}
