import { type AddressInfo, createServer } from "node:net";
import { Redis } from "ioredis";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from "vitest";
import { getFreePort } from "../../app/embedded/free-port.ts";
import * as probe from "../../app/embedded/probe.ts";
import { type ResolvedServices, resolveServices } from "../../app/embedded/resolve-services.ts";
import { portIsFree, recordingLogger, removeDir, tempDir } from "./helpers.ts";

// Wrap the real probes in spies so tests can assert whether they ran.
vi.mock("../../app/embedded/probe.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../app/embedded/probe.ts")>();
  return { canReachRedis: vi.fn(real.canReachRedis), canReachPostgres: vi.fn(real.canReachPostgres) };
});

describe("resolveServices", () => {
  let dir: string;
  let services: ResolvedServices | undefined;
  beforeEach(async () => {
    dir = await tempDir("resolve");
    vi.mocked(probe.canReachRedis).mockClear();
    vi.mocked(probe.canReachPostgres).mockClear();
  });
  afterEach(async () => {
    await services?.stop();
    services = undefined;
    await removeDir(dir);
  });

  it("uses explicit URLs as they are, without probing, even when nothing answers there", async () => {
    const port = await getFreePort();
    const redisUrl = `redis://127.0.0.1:${port}`;
    const databaseUrl = `postgres://someone@127.0.0.1:${port}/nowhere`;
    services = await resolveServices({
      redisUrl,
      redisUrlExplicit: true,
      databaseUrl,
      databaseUrlExplicit: true,
      dataDir: dir,
      logger: recordingLogger(),
      allowEmbedded: true,
    });
    expect(services).toMatchObject({ redisUrl, databaseUrl, embedded: {} });
    expect(services.pgMaxConnections).toBeUndefined();
    expect(probe.canReachRedis).not.toHaveBeenCalled();
    expect(probe.canReachPostgres).not.toHaveBeenCalled();
  });

  it("uses reachable defaults as they are", async () => {
    const logger = recordingLogger();
    services = await resolveServices({
      redisUrl: "redis://127.0.0.1:6379",
      redisUrlExplicit: false,
      databaseUrl: "postgres://postgres@127.0.0.1:5432/postgres",
      databaseUrlExplicit: false,
      dataDir: dir,
      logger,
      allowEmbedded: true,
    });
    expect(services).toMatchObject({
      redisUrl: "redis://127.0.0.1:6379",
      databaseUrl: "postgres://postgres@127.0.0.1:5432/postgres",
      embedded: {},
    });
    expect(probe.canReachRedis).toHaveBeenCalledOnce();
    expect(probe.canReachPostgres).toHaveBeenCalledOnce();
  });

  it("starts embedded Redis and PGlite when the defaults do not answer", { timeout: 20_000 }, async () => {
    // The "default" port is held by a listener that hangs up at once: nothing there answers, and the
    // embedded servers cannot be handed the same port (a merely free port once was, in CI).
    const blocker = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const closed = (blocker.address() as AddressInfo).port;
    const redisDefault = `redis://127.0.0.1:${closed}`;
    const pgDefault = `postgres://postgres@127.0.0.1:${closed}/postgres`;
    const logger = recordingLogger();
    services = await resolveServices({
      redisUrl: redisDefault,
      redisUrlExplicit: false,
      databaseUrl: pgDefault,
      databaseUrlExplicit: false,
      dataDir: dir,
      logger,
      allowEmbedded: true,
    });
    expect(services.embedded).toEqual({ redis: true, postgres: true });
    expect(services.pgMaxConnections).toBe(1);
    expect(services.pgPoolOptions).toEqual({ max: 1, idleTimeoutMillis: 0 });
    expect(services.redisUrl).not.toBe(redisDefault);
    expect(services.databaseUrl).not.toBe(pgDefault);

    const messages = logger.lines.map((l) => l.msg ?? "");
    expect(messages).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^no Redis at ${redisDefault}: started embedded redis-server on 127\\.0\\.0\\.1:\\d+ \\(nothing kept on disk\\)$`,
        ),
      ),
    );
    expect(messages).toContainEqual(
      expect.stringContaining(`no Postgres at ${pgDefault}: started embedded PGlite at 127.0.0.1:`),
    );
    expect(messages).toContainEqual(
      expect.stringContaining("(one connection at a time; set DATABASE_URL for production)"),
    );

    const redis = new Redis(services.redisUrl, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    const pool = new pg.Pool({ connectionString: services.databaseUrl, ...services.pgPoolOptions });
    try {
      expect(await redis.ping()).toBe("PONG");
      expect((await pool.query("select 1 as ok")).rows).toEqual([{ ok: 1 }]);
    } finally {
      redis.disconnect();
      await pool.end();
    }

    const ports = [services.redisUrl, services.databaseUrl].map((u) => Number(new URL(u).port));
    await services.stop();
    await services.stop(); // idempotent
    for (const port of ports) expect(await portIsFree(port)).toBe(true);
  });

  it("refuses to fall back when embedding is not allowed, naming the URL and the variable", async () => {
    const closed = await getFreePort();
    const options = {
      redisUrl: `redis://127.0.0.1:${closed}`,
      redisUrlExplicit: false,
      databaseUrl: `postgres://postgres@127.0.0.1:${closed}/postgres`,
      databaseUrlExplicit: false,
      dataDir: dir,
      logger: recordingLogger(),
      allowEmbedded: false,
    };
    await expect(resolveServices(options)).rejects.toThrow(
      new RegExp(`no Redis reachable at redis://127\\.0\\.0\\.1:${closed}.*set REDIS_URL`),
    );
    await expect(resolveServices(options)).rejects.toThrow(
      new RegExp(
        `no Postgres reachable at postgres://postgres@127\\.0\\.0\\.1:${closed}/postgres.*set DATABASE_URL`,
      ),
    );
  });
});
