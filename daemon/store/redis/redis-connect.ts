import { Cluster, Redis } from "ioredis";

/** One seed of a Redis Cluster: the client learns the other nodes and the slot map from it. */
export interface ClusterSeed {
  host: string;
  port: number;
}

/** Where the daemon's Redis is: a single server by URL, or a cluster when seeds are given. */
export interface RedisTarget {
  url: string;
  /** Non-empty: connect to a Redis Cluster through these seeds and ignore `url`. */
  clusterNodes: readonly ClusterSeed[];
}

/** Per-connection options the daemon sets (the same for a single server and for each cluster node). */
export interface RedisConnectOptions {
  /** `null` for BullMQ's connections and blocking readers: BullMQ refuses any other value there. */
  maxRetriesPerRequest: number | null;
  enableReadyCheck?: boolean;
  lazyConnect?: boolean;
  /**
   * Commands issued in the same event-loop turn leave in one socket write (ioredis's auto-pipelining):
   * for the connections many concurrent callers share, where a write per command cost more than
   * the commands.
   */
  enableAutoPipelining?: boolean;
}

/**
 * Parses `REDIS_CLUSTER_NODES`: comma-separated `host:port` seeds (an IPv6 host in brackets,
 * `[::1]:7000`). Returns the seeds and one problem line per entry it cannot read.
 */
export function parseClusterNodes(raw: string | undefined): { nodes: ClusterSeed[]; problems: string[] } {
  const nodes: ClusterSeed[] = [];
  const problems: string[] = [];
  for (const entry of (raw ?? "")
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean)) {
    const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(entry);
    const port = match ? Number(match[2]) : Number.NaN;
    if (!match || port < 1 || port > 65_535) {
      problems.push(`REDIS_CLUSTER_NODES: ${JSON.stringify(entry)} is not host:port`);
      continue;
    }
    nodes.push({ host: (match[1] as string).replace(/^\[(.*)\]$/, "$1"), port });
  }
  return { nodes, problems };
}

/**
 * Opens one Redis connection: a plain client, or a cluster client when the target has seeds. Every
 * caller that needs its own socket (BullMQ, the pub/sub subscriber, the feed stream's blocking
 * reader) calls this again rather than sharing, as on a single server; BullMQ duplicates a cluster
 * client itself for its blocking worker connection.
 *
 * A cluster client is returned typed as `Redis`: the daemon only issues commands, pipelines, Lua
 * (`defineCommand`/`eval` with declared keys) and pub/sub, which `Cluster` implements with the
 * same signatures, routing each by its key's slot. Every key of a namespace shares one hash tag
 * (daemon/dispatch/redis-keys.ts), so multi-key scripts and pipelines never cross slots. What
 * `Cluster` lacks (`select`, `monitor`, per-connection `options`) the daemon does not use; keyless
 * commands (`TIME`, `CONFIG GET`) go to any primary.
 */
export function connectRedis(target: RedisTarget, options: RedisConnectOptions): Redis {
  if (target.clusterNodes.length === 0) return new Redis(target.url, options);
  const { enableReadyCheck, lazyConnect, enableAutoPipelining, ...perNode } = options;
  const cluster = new Cluster(
    target.clusterNodes.map((n) => ({ host: n.host, port: n.port })),
    {
      // Only options that were given: an `undefined` would override the cluster's own default.
      ...(enableReadyCheck === undefined ? {} : { enableReadyCheck }),
      ...(lazyConnect === undefined ? {} : { lazyConnect }),
      ...(enableAutoPipelining === undefined ? {} : { enableAutoPipelining }),
      // BullMQ reads `maxRetriesPerRequest` from the cluster's per-node options.
      redisOptions: perNode,
    },
  );
  return cluster as unknown as Redis;
}
