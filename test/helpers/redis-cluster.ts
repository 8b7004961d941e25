import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import type { ClusterSeed } from "../../daemon/store/redis/redis-connect.ts";

const run = promisify(execFile);

export interface RedisClusterHandle {
  nodes: ClusterSeed[];
  /** `host:port,host:port,…`, the form REDIS_CLUSTER_NODES takes. */
  seeds: string;
  /** Kills every node and removes the working directory; idempotent. */
  stop(): Promise<void>;
}

/** The cluster bus listens on port + 10000, so both must be free. */
const BUS_OFFSET = 10_000;
const PORT_ATTEMPTS = 50;

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject()));
    });
  });
}

/** A port that is free with its bus port, and not one already picked. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < PORT_ATTEMPTS; i++) {
    const port = await anyFreePort();
    if (port + BUS_OFFSET > 65_535 || taken.has(port)) continue;
    if (await canBind(port + BUS_OFFSET)) return port;
  }
  throw new Error(`no free port pair (port, port + ${BUS_OFFSET}) in ${PORT_ATTEMPTS} attempts`);
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function clusterInfo(node: ClusterSeed): Promise<string> {
  const client = new Redis({
    ...node,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // Refused connections while the node starts are expected: connect() rejects, nothing to report.
  client.on("error", () => {});
  try {
    await client.connect();
    return (await client.cluster("INFO")) as string;
  } finally {
    client.disconnect();
  }
}

/**
 * Starts a throw-away Redis Cluster of `size` primaries (no replicas, no persistence) on 127.0.0.1
 * in a temporary directory, and waits until every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(size = 3, readyTimeoutMs = 20_000): Promise<RedisClusterHandle> {
  const dir = await mkdtemp(join(tmpdir(), "ovs-redis-cluster-"));
  const children: ChildProcess[] = [];
  const nodes: ClusterSeed[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGKILL");
          }),
      ),
    );
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const taken = new Set<number>();
    for (let i = 0; i < size; i++) {
      const port = await clusterPort(taken);
      taken.add(port);
      const child = spawn(
        "redis-server",
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          `nodes-${port}.conf`,
          "--cluster-node-timeout",
          "2000",
          "--save",
          "",
          "--appendonly",
          "no",
          "--maxmemory-policy",
          "noeviction",
          "--dir",
          dir,
        ],
        { stdio: "ignore" },
      );
      children.push(child);
      nodes.push({ host: "127.0.0.1", port });
    }
    for (const node of nodes) {
      await until(async () => (await clusterInfo(node)).length > 0, readyTimeoutMs, `redis ${node.port}`);
    }
    await run(
      "redis-cli",
      [
        "--cluster",
        "create",
        ...nodes.map((n) => `${n.host}:${n.port}`),
        "--cluster-replicas",
        "0",
        "--cluster-yes",
      ],
      { timeout: readyTimeoutMs },
    );
    for (const node of nodes) {
      await until(
        async () => {
          const info = await clusterInfo(node);
          return info.includes("cluster_state:ok") && info.includes(`cluster_known_nodes:${size}`);
        },
        readyTimeoutMs,
        `cluster_state:ok on ${node.port}`,
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, seeds: nodes.map((n) => `${n.host}:${n.port}`).join(","), stop };
}
