import { createServer } from "node:net";
import { call } from "../../test/helpers/api-client.ts";
import { dropNamespace } from "../../test/helpers/namespace-cleanup.ts";
import { type Child, exited, spawnTs, stopChild } from "./children.ts";
import { onEmergency } from "./emergency.ts";
import { DATABASE_URL, REDIS_URL, TOKENS } from "./services.ts";
import { sleep } from "./timing.ts";

export interface BenchDaemon {
  child: Child;
  url: string;
  namespace: string;
  env: Record<string, string>;
  /** Calls the API with the operator token unless another is given. */
  api<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; body: T }>;
  /** warn/error/fatal lines the daemon logged so far, counted by message. */
  problems(): Record<string, number>;
  /** SIGTERM (drain), then drops the namespace's schema and keys. */
  close(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (closed again before the daemon binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject()));
    });
  });
}

/**
 * Starts `app/main.ts` (or `entry`, e.g. a compiled `dist/app/main.js`) as a child process (as in
 * production: its own event loop and CPU) on a fresh namespace, LOG_LEVEL=warn, the canary off,
 * against the shared Redis and Postgres; resolves once /readyz is 200.
 */
/** Feed connection caps (OVERSEER_WS_MAX_CLIENTS*) that let `clients` sockets of one token in. */
export function feedCaps(clients: number): Record<string, string> {
  const cap = String(Math.max(1, clients + 10));
  return { OVERSEER_WS_MAX_CLIENTS: cap, OVERSEER_WS_MAX_CLIENTS_PER_TOKEN: cap };
}

export async function startBenchDaemon(
  namespace: string,
  overrides: Record<string, string> = {},
  entry = "app/main.ts",
): Promise<BenchDaemon> {
  const port = await freePort();
  const env: Record<string, string> = {
    OVERSEER_NAMESPACE: namespace,
    HOST: "127.0.0.1",
    PORT: String(port),
    REDIS_URL,
    DATABASE_URL,
    OVERSEER_EMBEDDED: "false",
    LOG_LEVEL: "warn",
    OVERSEER_ADMIN_TOKEN: TOKENS.admin,
    OVERSEER_OPERATOR_TOKEN: TOKENS.operator,
    OVERSEER_VIEWER_TOKEN: TOKENS.viewer,
    OVERSEER_AGENT_SECRET: TOKENS.agentSecret,
    OVERSEER_SHUTDOWN_GRACE_MS: "5s",
    // No synthetic canary tasks: scenarios count every task and attempt they caused.
    OVERSEER_CANARY_ENABLED: "false",
    ...overrides,
  };
  const problems: Record<string, number> = {};
  const child = spawnTs(`daemon ${namespace}`, entry, env, {
    onLine: (line) => {
      // Pino JSON on stdout; anything else (a crash trace) on stderr is counted as is.
      let key = line.slice(0, 120);
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string };
        if ((entry.level ?? 0) < 40) return;
        key = `${entry.level === 40 ? "warn" : "error"}: ${entry.msg ?? ""}`;
      } catch {
        if (line.trim() === "") return;
      }
      problems[key] = (problems[key] ?? 0) + 1;
    },
  });
  const forget = onEmergency(() => dropNamespace(namespace));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited(child.proc)) {
      await dropNamespace(namespace).catch(() => {});
      forget();
      throw new Error(`daemon exited with ${child.proc.exitCode}\n${child.tail()}`);
    }
    const ready = await call(url, "GET", "/readyz").then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stopChild(child.proc);
      await dropNamespace(namespace).catch(() => {});
      forget();
      throw new Error(`daemon not ready within 30 s\n${child.tail()}`);
    }
    await sleep(50);
  }
  let closed: Promise<void> | undefined;
  return {
    child,
    url,
    namespace,
    env,
    api: (method, path, body, token) => call(url, method, path, { token: token ?? TOKENS.operator, body }),
    problems: () => ({ ...problems }),
    close() {
      closed ??= (async () => {
        await stopChild(child.proc, "SIGTERM", 10_000);
        await dropNamespace(namespace);
        forget();
      })();
      return closed;
    },
  };
}
