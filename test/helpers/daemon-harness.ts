import { OverseerDaemon } from "../../app/overseer-daemon.ts";
import { compileConfig, type OverseerConfig } from "../../daemon/config/compile-config.ts";
import { createLogger } from "../../daemon/telemetry/logger.ts";
import { type ApiResponse, call } from "./api-client.ts";
import { dropNamespace } from "./namespace-cleanup.ts";
import { daemonEnv, freshNamespace, TOKENS } from "./test-env.ts";

export interface TestAgent {
  id: string;
  token: string;
  /** Stops this agent's background heartbeats (it then goes stale and dead). */
  silence(): void;
}

export interface TestDaemon {
  daemon: OverseerDaemon;
  url: string;
  namespace: string;
  config: OverseerConfig;
  /** Calls the API with the operator token unless another is given. */
  api<T = any>(
    method: string,
    path: string,
    opts?: { token?: string | null; body?: unknown },
  ): Promise<ApiResponse<T>>;
  registerAgent(
    name: string,
    capabilities: string[],
    opts?: { role?: string; concurrency?: number; silent?: boolean },
  ): Promise<TestAgent>;
  /** Stops the daemon and drops the namespace (schema and keys). */
  close(opts?: { keepData?: boolean }): Promise<void>;
}

/** Starts an in-process daemon on a fresh namespace against the real Redis and Postgres. */
export async function startTestDaemon(
  overrides: Record<string, string> = {},
  namespace = freshNamespace(),
): Promise<TestDaemon> {
  const config = compileConfig(daemonEnv(namespace, overrides));
  const daemon = new OverseerDaemon({ config, logger: createLogger(config.logLevel) });
  const url = await daemon.start();
  const beats = new Set<NodeJS.Timeout>();
  const api: TestDaemon["api"] = (method, path, opts = {}) =>
    call(url, method, path, {
      token: opts.token === null ? undefined : (opts.token ?? TOKENS.operator),
      body: opts.body,
    });
  return {
    daemon,
    url,
    namespace,
    config,
    api,
    async registerAgent(name, capabilities, opts = {}) {
      const r = await api("POST", "/api/agents/register", {
        token: TOKENS.agentSecret,
        body: { name, role: opts.role ?? "worker", capabilities, concurrency: opts.concurrency ?? 1 },
      });
      if (r.status !== 201) throw new Error(`register failed: ${r.status} ${r.text}`);
      const { id, token } = r.body;
      // A test agent is alive like a real one unless the test silences it.
      const timer = setInterval(() => {
        void api("POST", `/api/agents/${id}/heartbeat`, { token, body: {} }).catch(() => {});
      }, config.heartbeatIntervalMs);
      beats.add(timer);
      const silence = () => {
        clearInterval(timer);
        beats.delete(timer);
      };
      if (opts.silent) silence();
      return { id, token, silence };
    },
    async close(opts = {}) {
      for (const timer of beats) clearInterval(timer);
      await daemon.stop();
      // A hung shutdown step no longer hangs the suite; name it so the run log says which.
      if (daemon.drainOverruns.length > 0) {
        console.warn(`daemon ${namespace}: shutdown steps overran: ${daemon.drainOverruns.join(", ")}`);
      }
      if (!opts.keepData) await dropNamespace(namespace);
    },
  };
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
