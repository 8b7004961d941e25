import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { acquireDirLock } from "./dir-lock.ts";
import type { EmbeddedLogger } from "./logger.ts";

export interface EmbeddedPostgresOptions {
  /** Directory that holds the database (in `pgdata/`) so a restarted demo keeps its data. */
  dataDir: string;
  logger: EmbeddedLogger;
}

export interface EmbeddedPostgres {
  url: string;
  port: number;
  /**
   * PGlite is a single Postgres backend and pglite-socket multiplexes connections unsafely (extended-protocol
   * messages of two clients can interleave), so the server admits one connection. Callers must use a pg
   * Pool with `max: 1, idleTimeoutMillis: 0` (a reconnect racing the close of the previous socket is
   * dropped by the server) and run migrations through a client checked out of that pool.
   */
  maxConnections: 1;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  // PGlite does not lock its data directory; two processes on one directory would corrupt it.
  const releaseLock = await acquireDirLock(options.dataDir, "pglite.lock");
  let db: PGlite | undefined;
  try {
    db = await PGlite.create(join(options.dataDir, "pgdata"));
    // Port 0 lets the OS pick while binding, so there is no window for another process to take it.
    const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 1 });
    await server.start();
    const port = Number(server.getServerConn().split(":").pop());
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    options.logger.info({ port, dataDir: options.dataDir }, "embedded PGlite ready");

    const openDb = db;
    let stopped: Promise<void> | undefined;
    const stop = () => {
      stopped ??= (async () => {
        try {
          await server.stop();
        } finally {
          try {
            await openDb.close();
          } finally {
            await releaseLock();
          }
        }
      })();
      return stopped;
    };
    return { url, port, maxConnections: 1, stop };
  } catch (err) {
    await db?.close().catch(() => {});
    await releaseLock();
    throw err;
  }
}
