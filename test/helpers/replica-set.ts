import type { ChildProcess } from "node:child_process";
import { getFreePort } from "../../app/embedded/free-port.ts";
import { compileConfig, type OverseerConfig } from "../../daemon/config/compile-config.ts";
import { type ApiResponse, call } from "./api-client.ts";
import { eventually, startTestDaemon, type TestDaemon } from "./daemon-harness.ts";
import { dropNamespace } from "./namespace-cleanup.ts";
import { killAndWait, spawnDaemon } from "./processes.ts";
import { daemonEnv, freshNamespace, TOKENS } from "./test-env.ts";

/**
 * N daemon replicas on one namespace (one Postgres schema, one set of Redis keys), as the issue's
 * "any number of daemons share one Redis and one Postgres". In-process replicas (`startTestDaemon`)
 * are cheaper to start; child-process replicas (`spawnDaemon`) are for tests that SIGKILL one.
 */
export type ReplicaMode = "in-process" | "process";

export interface ReplicaSet {
  readonly namespace: string;
  readonly size: number;
  /** Replica i's base URL (stable across a kill and restart: the port is kept). */
  readonly urls: readonly string[];
  /** The configuration every replica runs with (they share one environment). */
  readonly config: OverseerConfig;
  /** Calls the next replica in round-robin order, with the operator token unless another is given. */
  api(method: string, path: string, opts?: { token?: string; body?: unknown }): Promise<ApiResponse>;
  /** Calls replica i. */
  apiAt(
    i: number,
    method: string,
    path: string,
    opts?: { token?: string; body?: unknown },
  ): Promise<ApiResponse>;
  /** OVERSEER_URL for the k-th agent: every replica, starting at replica k mod N (spreads agents). */
  agentUrl(k: number): string;
  /** Index of the one replica whose /metrics says `overseer_leader 1`; waits up to `timeoutMs` for one. */
  leader(timeoutMs?: number, among?: number[]): Promise<number>;
  /** SIGKILLs replica i ("process" mode only). */
  kill(i: number): Promise<void>;
  /** Starts replica i again on its port with the same environment ("process" mode only). */
  restart(i: number): Promise<void>;
  /** Stops every replica and drops the namespace. */
  close(): Promise<void>;
}

/** "1 replica", "3 replicas": the tag the acceptance lines carry. */
export const replicaLabel = (n: number): string => `${n} replica${n === 1 ? "" : "s"}`;

export async function startReplicaSet(opts: {
  replicas: number;
  mode: ReplicaMode;
  env?: Record<string, string>;
}): Promise<ReplicaSet> {
  const namespace = freshNamespace();
  const env = daemonEnv(namespace, opts.env ?? {});
  const config = compileConfig(env);
  const urls: string[] = [];
  const inProcess: TestDaemon[] = [];
  const procs: (ChildProcess | null)[] = [];
  const ports: number[] = [];
  const alive = (i: number) => opts.mode === "in-process" || procs[i] !== null;

  try {
    if (opts.mode === "in-process") {
      // One after another: the first creates the schema (migrations), the others find it.
      for (let i = 0; i < opts.replicas; i++) {
        const d = await startTestDaemon(opts.env ?? {}, namespace);
        inProcess.push(d);
        urls.push(d.url);
      }
    } else {
      for (let i = 0; i < opts.replicas; i++) ports.push(await getFreePort());
      procs.push(await spawnDaemon(env, ports[0]!));
      // Settled, not Promise.all: when one fails, the ones that started are stopped below.
      const rest = await Promise.allSettled(ports.slice(1).map((p) => spawnDaemon(env, p)));
      for (const r of rest) if (r.status === "fulfilled") procs.push(r.value);
      for (const r of rest) if (r.status === "rejected") throw r.reason;
      urls.push(...ports.map((p) => `http://127.0.0.1:${p}`));
    }
  } catch (error) {
    await Promise.all(procs.map((p) => p && killAndWait(p)));
    for (const d of inProcess) await d.close({ keepData: true }).catch(() => {});
    await dropNamespace(namespace);
    throw error;
  }

  let turn = 0;
  const apiAt: ReplicaSet["apiAt"] = (i, method, path, o = {}) =>
    call(urls[i]!, method, path, { token: o.token ?? TOKENS.operator, body: o.body });

  const isLeader = async (i: number): Promise<boolean> => {
    if (!alive(i)) return false;
    const r = await call(urls[i]!, "GET", "/metrics").catch(() => null);
    return r?.status === 200 && /^overseer_leader(\{[^}]*\})? 1$/m.test(r.text);
  };

  return {
    namespace,
    size: opts.replicas,
    urls,
    config,
    api: (method, path, o) => apiAt(turn++ % urls.length, method, path, o),
    apiAt,
    agentUrl: (k) => urls.map((_, j) => urls[(k + j) % urls.length]).join(","),
    async leader(timeoutMs = config.leaderLeaseMs * 3, among = urls.map((_, i) => i)) {
      return eventually(
        async () => {
          const flags = await Promise.all(among.map(isLeader));
          const leaders = among.filter((_, j) => flags[j]);
          // 0 means no one holds the lease yet; 2 would be a brief overlap of the gauge: ask again.
          return leaders.length === 1 ? leaders[0]! + 1 : null;
        },
        timeoutMs,
        `exactly one of replicas [${among.join(",")}] to report overseer_leader 1`,
      ).then((i) => i - 1);
    },
    async kill(i) {
      if (opts.mode !== "process") throw new Error("only child-process replicas can be killed");
      const p = procs[i];
      procs[i] = null;
      if (p) await killAndWait(p, "SIGKILL");
    },
    async restart(i) {
      if (opts.mode !== "process") throw new Error("only child-process replicas can be restarted");
      if (procs[i]) throw new Error(`replica ${i} is running`);
      procs[i] = await spawnDaemon(env, ports[i]!);
    },
    async close() {
      await Promise.all(procs.map((p) => p && killAndWait(p, "SIGTERM")));
      // Last in first out; only the last one drops the shared namespace.
      for (const d of inProcess.slice(1).reverse()) await d.close({ keepData: true });
      await inProcess[0]?.close({ keepData: true });
      await dropNamespace(namespace);
    },
  };
}

/**
 * A `TestDaemon` backed by `replicas` in-process daemons on one namespace, for suites written
 * against one daemon: `api` and `registerAgent` go round-robin over the replicas (so a write and
 * the next read usually land on different replicas), while `url` and `daemon` are replica 0's
 * (agents given `d.url` talk to replica 0), except that `d.daemon.bus.subscribe` hears every
 * replica's events, as a suite watching "the daemon's" events expects.
 */
export async function startReplicatedTestDaemon(
  replicas: number,
  overrides: Record<string, string> = {},
  namespace = freshNamespace(),
  /** Starts one replica; a suite that mocks the harness passes the real one. */
  startOne: typeof startTestDaemon = startTestDaemon,
): Promise<TestDaemon> {
  const ds: TestDaemon[] = [];
  try {
    for (let i = 0; i < replicas; i++) ds.push(await startOne(overrides, namespace));
  } catch (error) {
    for (const d of ds.reverse()) await d.close({ keepData: true }).catch(() => {});
    await dropNamespace(namespace);
    throw error;
  }
  const first = ds[0]!;
  const bus = new Proxy(first.daemon.bus, {
    get(target, prop) {
      if (prop === "subscribe") {
        return (sink: Parameters<typeof target.subscribe>[0]) => {
          const offs = ds.map((d) => d.daemon.bus.subscribe(sink));
          return () => {
            for (const off of offs) off();
          };
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const daemon = new Proxy(first.daemon, {
    get(target, prop) {
      if (prop === "bus") return bus;
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  let apiTurn = 0;
  let agentTurn = 0;
  return {
    daemon,
    url: first.url,
    namespace,
    config: first.config,
    api: (method, path, opts) => ds[apiTurn++ % ds.length]!.api(method, path, opts),
    registerAgent: (name, capabilities, opts) =>
      ds[agentTurn++ % ds.length]!.registerAgent(name, capabilities, opts),
    async close(opts = {}) {
      for (const d of ds.slice(1).reverse()) await d.close({ keepData: true });
      await first.close(opts);
    },
  };
}
