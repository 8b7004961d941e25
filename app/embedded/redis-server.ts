import { type ChildProcess, spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { findExecutable } from "./find-executable.ts";
import { getFreePort } from "./free-port.ts";
import type { EmbeddedLogger } from "./logger.ts";
import { canReachRedis } from "./probe.ts";

export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

export interface EmbeddedRedisOptions {
  /** Working directory for redis-server; nothing is persisted there (no RDB, no AOF). */
  dataDir: string;
  logger: EmbeddedLogger;
  /** The URL that did not answer; only used to make the "not installed" error self-explanatory. */
  unreachableUrl?: string;
  /** PATH to search for redis-server (defaults to process.env.PATH); lets tests simulate "not installed". */
  searchPath?: string;
  /** How long to wait for the first PING to succeed. */
  readyTimeoutMs?: number;
}

export interface EmbeddedRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 3000;
const PORT_ATTEMPTS = 3;

export async function startEmbeddedRedis(options: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  const binary = findExecutable("redis-server", options.searchPath);
  if (binary === undefined) {
    throw new Error(
      `no Redis reachable at ${options.unreachableUrl ?? DEFAULT_REDIS_URL} and redis-server is not installed: ` +
        "install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL",
    );
  }
  await mkdir(options.dataDir, { recursive: true });
  // getFreePort releases the port before redis binds it, so another process may grab it in between:
  // retry with a fresh port when the child dies during startup.
  let lastError: unknown;
  for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
    const port = await getFreePort();
    try {
      return await launch(binary, port, options);
    } catch (err) {
      lastError = err;
      options.logger.warn({ err, port, attempt }, "embedded redis-server failed to start");
    }
  }
  throw lastError;
}

async function launch(binary: string, port: number, options: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  const url = `redis://127.0.0.1:${port}`;
  const child = spawn(
    binary,
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      // Pure cache semantics for a demo: no snapshots, no AOF, and never evict queue keys silently.
      "--save",
      "",
      "--appendonly",
      "no",
      "--maxmemory-policy",
      "noeviction",
      "--dir",
      options.dataDir,
      "--daemonize",
      "no",
      "--loglevel",
      "warning",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const output = captureTail(child);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  // spawn failures (EACCES, ENOENT after a race) arrive as 'error' and must not crash the process.
  let spawnError: Error | undefined;
  child.once("error", (err) => {
    spawnError = err;
  });

  // Synchronous by necessity: 'exit' listeners cannot await. Prevents an orphaned redis-server.
  const killOnExit = () => {
    child.kill("SIGKILL");
  };
  process.on("exit", killOnExit);

  const stop = async () => {
    process.off("exit", killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 5000);
  for (;;) {
    if (spawnError !== undefined || child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(
        `redis-server exited during startup on port ${port}` +
          (spawnError ? `: ${spawnError.message}` : ` (code ${child.exitCode ?? child.signalCode})`) +
          (output() ? `; output: ${output()}` : ""),
      );
    }
    if (await canReachRedis(url, 250)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server on port ${port} did not answer PING within the startup timeout`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  options.logger.info({ port, pid: child.pid }, "embedded redis-server ready");
  return { url, port, stop };
}

/** Keeps the last few KB of the child's output for error messages, and drains the pipes so it never blocks. */
function captureTail(child: ChildProcess, limit = 4096): () => string {
  let tail = "";
  const append = (chunk: Buffer) => {
    tail = (tail + chunk.toString("utf8")).slice(-limit);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  return () => tail.trim();
}
