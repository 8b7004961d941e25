// The chaos run's own Redis and PostgreSQL, in a temporary directory, so its faults never touch the
// machine's shared services (other suites run against those at the same time).
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { exited, stopChild } from "../support/children.ts";
import { freePort } from "../support/daemon.ts";
import { sleep } from "../support/timing.ts";

/** The newest PostgreSQL server binaries installed (Debian layout: /usr/lib/postgresql/<major>/bin). */
function pgBin(tool: string): string {
  const root = "/usr/lib/postgresql";
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((d) => /^\d+$/.test(d))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const major of majors) {
    const path = join(root, major, "bin", tool);
    if (existsSync(path)) return path;
  }
  throw new Error(`no ${tool} under ${root}/*/bin (install the postgresql server package)`);
}

/**
 * Postgres refuses to run as root: as root, its directory belongs to user `postgres` and its tools
 * run through `runuser`; as anyone else, they run as that user.
 */
const asRoot = process.getuid?.() === 0;
function pgArgs(tool: string, args: string[]): [string, string[]] {
  return asRoot ? ["runuser", ["-u", "postgres", "--", pgBin(tool), ...args]] : [pgBin(tool), args];
}

export class ChaosRedis {
  private proc: ChildProcess | null = null;
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /**
   * AOF with `appendfsync always`: every write is fsynced before Redis answers it, so a SIGKILL (or
   * a machine crash) loses nothing a daemon was told succeeded. `everysec` could lose up to a
   * second of acknowledged writes on a machine crash; the load here is small enough that the fsync
   * per write costs nothing measurable. No RDB snapshots (`--save ""`): the AOF alone restores.
   */
  static async start(dir: string): Promise<ChaosRedis> {
    mkdirSync(dir, { recursive: true });
    const redis = new ChaosRedis(dir, await freePort());
    await redis.boot();
    return redis;
  }

  private async boot(): Promise<void> {
    const args = [
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--dir",
      this.dir,
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
      "--save",
      "",
      "--daemonize",
      "no",
      "--loglevel",
      "warning",
    ];
    const proc = spawn("redis-server", args, { stdio: ["ignore", "ignore", "pipe"] });
    proc.stderr?.resume();
    this.proc = proc;
    const client = new Redis(this.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
    });
    // Refused connections while redis-server starts are expected: the loop below retries.
    client.on("error", () => {});
    try {
      for (let i = 0; i < 200; i++) {
        if (exited(proc)) throw new Error(`redis-server exited with ${proc.exitCode ?? proc.signalCode}`);
        const pong = await client
          .connect()
          .then(() => client.ping())
          .catch(() => null);
        if (pong === "PONG") return;
        client.disconnect();
        await sleep(50);
      }
      throw new Error("redis-server did not answer PING within 10 s");
    } finally {
      client.disconnect();
    }
  }

  /** Runs `fn` on a short-lived connection; `fallback` when Redis does not answer. */
  async with<T>(fn: (client: Redis) => Promise<T>, fallback: T): Promise<T> {
    const client = new Redis(this.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
    });
    client.on("error", () => {});
    try {
      await client.connect();
      return await fn(client);
    } catch {
      return fallback;
    } finally {
      client.disconnect();
    }
  }

  /** SIGKILL: no shutdown save, no goodbye to clients; what survives is what the AOF holds. */
  async kill(): Promise<void> {
    if (this.proc) await stopChild(this.proc, "SIGKILL");
    this.proc = null;
  }

  /** Starts again from the same directory (and so the same AOF) and port. */
  async restart(): Promise<void> {
    await this.boot();
  }

  async stop(): Promise<void> {
    await this.kill();
  }

  /** Emergency stop (synchronous, by pid). */
  killNow(): void {
    if (this.proc && !exited(this.proc)) this.proc.kill("SIGKILL");
  }
}

export class ChaosPostgres {
  private running = false;
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private get data(): string {
    return join(this.dir, "data");
  }

  /** initdb (trust auth, user postgres) into `dir`, then starts it on a free port on 127.0.0.1. */
  static async start(dir: string): Promise<ChaosPostgres> {
    mkdirSync(dir, { recursive: true });
    if (asRoot) {
      const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
      const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
      chownSync(dir, uid, gid);
    }
    const db = new ChaosPostgres(dir, await freePort());
    // --no-sync: a throwaway cluster; the outage under test is a clean `pg_ctl stop -m fast`.
    db.run("initdb", ["-D", db.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
    await db.startServer();
    return db;
  }

  private run(tool: string, args: string[]): void {
    const [cmd, argv] = pgArgs(tool, args);
    const r = spawnSync(cmd, argv, { encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0)
      throw new Error(`${tool} ${args.join(" ")} failed (${r.status ?? r.error}): ${r.stderr || r.stdout}`);
  }

  /** pg_ctl start -w: returns once the server accepts connections. */
  async startServer(): Promise<void> {
    const opts = [
      `-p ${this.port}`,
      "-c listen_addresses=127.0.0.1",
      `-c unix_socket_directories=${this.dir}`,
      // 3 replicas × (pool + intake pool + listeners) plus the checker; the default 100 is enough,
      // but a restart after the outage briefly sees old and new connections together.
      "-c max_connections=200",
    ].join(" ");
    this.run("pg_ctl", [
      "-D",
      this.data,
      "-l",
      join(this.dir, "postgres.log"),
      "-o",
      opts,
      "-w",
      "-t",
      "60",
      "start",
    ]);
    this.running = true;
  }

  /** pg_ctl stop -m fast: open sessions are ended, in-flight transactions roll back. */
  async stopServer(mode: "fast" | "immediate" = "fast"): Promise<void> {
    if (!this.running) return;
    this.run("pg_ctl", ["-D", this.data, "-m", mode, "-w", "-t", "60", "stop"]);
    this.running = false;
  }

  async client(searchPath?: string): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.url,
      ...(searchPath ? { options: `-c search_path=${searchPath}` } : {}),
    });
    await client.connect();
    return client;
  }

  /** Emergency stop (synchronous). */
  killNow(): void {
    if (!this.running) return;
    const [cmd, argv] = pgArgs("pg_ctl", ["-D", this.data, "-m", "immediate", "-w", "-t", "20", "stop"]);
    spawnSync(cmd, argv, { timeout: 30_000 });
    this.running = false;
  }
}
