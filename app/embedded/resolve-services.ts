import { join } from "node:path";
import type { EmbeddedLogger } from "./logger.ts";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "./pglite-server.ts";
import { canReachPostgres, canReachRedis } from "./probe.ts";
import { type EmbeddedRedis, startEmbeddedRedis } from "./redis-server.ts";

export interface ResolveServicesOptions {
  redisUrl: string;
  /** True when REDIS_URL was set by the operator: then it is used as is, never probed or replaced. */
  redisUrlExplicit: boolean;
  databaseUrl: string;
  databaseUrlExplicit: boolean;
  /** Parent directory for embedded services' files (`redis/`, `pglite/`). */
  dataDir: string;
  logger: EmbeddedLogger;
  /** When false, an unreachable default is an error instead of a reason to start an embedded service. */
  allowEmbedded: boolean;
  probeTimeoutMs?: number;
}

export interface ResolvedServices {
  redisUrl: string;
  databaseUrl: string;
  /** Set when Postgres is embedded PGlite: size the pg Pool to this (it is 1). */
  pgMaxConnections?: number;
  /**
   * Set together with pgMaxConnections: pool settings that keep the single PGlite connection open.
   * pglite-socket can drop a reconnect that arrives while the previous socket is still closing,
   * so the pool must not close idle clients (idleTimeoutMillis 0 = never).
   */
  pgPoolOptions?: { max: number; idleTimeoutMillis: number };
  embedded: { redis?: boolean; postgres?: boolean };
  /** Stops whatever was started here; safe to call more than once. */
  stop(): Promise<void>;
}

export async function resolveServices(options: ResolveServicesOptions): Promise<ResolvedServices> {
  const { logger, probeTimeoutMs = 1000 } = options;
  const [redisUp, postgresUp] = await Promise.all([
    options.redisUrlExplicit ? true : canReachRedis(options.redisUrl, probeTimeoutMs),
    options.databaseUrlExplicit ? true : canReachPostgres(options.databaseUrl, probeTimeoutMs),
  ]);

  if (!options.allowEmbedded) {
    const missing: string[] = [];
    if (!redisUp)
      missing.push(`no Redis reachable at ${options.redisUrl}: start Redis there or set REDIS_URL`);
    if (!postgresUp) {
      missing.push(
        `no Postgres reachable at ${options.databaseUrl}: start Postgres there or set DATABASE_URL`,
      );
    }
    if (missing.length > 0) throw new Error(`${missing.join("; ")} (embedded fallback is disabled)`);
  }

  // Start both in parallel (PGlite's first initdb takes seconds); if one fails, stop the other.
  const [redis, postgres] = await Promise.allSettled([
    redisUp
      ? undefined
      : startEmbeddedRedis({
          dataDir: join(options.dataDir, "redis"),
          logger,
          unreachableUrl: options.redisUrl,
        }),
    postgresUp ? undefined : startEmbeddedPostgres({ dataDir: join(options.dataDir, "pglite"), logger }),
  ]);
  const started = [redis, postgres].flatMap((r) => (r.status === "fulfilled" && r.value ? [r.value] : []));
  const failures = [redis, postgres].flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
  if (failures.length > 0) {
    await Promise.allSettled(started.map((s) => s.stop()));
    throw failures.length === 1
      ? failures[0]
      : new Error(failures.map((f) => (f instanceof Error ? f.message : String(f))).join("; "));
  }
  const embeddedRedis = redis.status === "fulfilled" ? redis.value : undefined;
  const embeddedPostgres = postgres.status === "fulfilled" ? postgres.value : undefined;

  logOutcome(options, embeddedRedis, embeddedPostgres);

  let stopped: Promise<void> | undefined;
  const result: ResolvedServices = {
    redisUrl: embeddedRedis?.url ?? options.redisUrl,
    databaseUrl: embeddedPostgres?.url ?? options.databaseUrl,
    embedded: {},
    stop: () => {
      stopped ??= Promise.allSettled(started.map((s) => s.stop())).then((results) => {
        for (const r of results) {
          if (r.status === "rejected") logger.warn({ err: r.reason }, "failed to stop an embedded service");
        }
      });
      return stopped;
    },
  };
  if (embeddedRedis) result.embedded.redis = true;
  if (embeddedPostgres) {
    result.embedded.postgres = true;
    result.pgMaxConnections = embeddedPostgres.maxConnections;
    result.pgPoolOptions = { max: embeddedPostgres.maxConnections, idleTimeoutMillis: 0 };
  }
  return result;
}

function logOutcome(
  options: ResolveServicesOptions,
  redis: EmbeddedRedis | undefined,
  postgres: EmbeddedPostgres | undefined,
): void {
  const { logger } = options;
  if (redis) {
    logger.info(
      { embedded: "redis", url: redis.url, port: redis.port },
      `no Redis at ${options.redisUrl}: started embedded redis-server on 127.0.0.1:${redis.port} (nothing kept on disk)`,
    );
  } else if (!options.redisUrlExplicit) {
    logger.info({ url: options.redisUrl }, `using Redis at ${options.redisUrl}`);
  }
  if (postgres) {
    const dir = join(options.dataDir, "pglite");
    logger.info(
      { embedded: "postgres", url: postgres.url, port: postgres.port, dataDir: dir },
      `no Postgres at ${options.databaseUrl}: started embedded PGlite at 127.0.0.1:${postgres.port}, ` +
        `data in ${dir} (one connection at a time; set DATABASE_URL for production)`,
    );
  } else if (!options.databaseUrlExplicit) {
    logger.info({ url: options.databaseUrl }, `using Postgres at ${options.databaseUrl}`);
  }
}
