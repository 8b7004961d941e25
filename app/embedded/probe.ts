import { Redis } from "ioredis";
import pg from "pg";
import { raceTimer } from "../../daemon/lifecycle/race-timer.ts";
import { selectOne } from "../../daemon/store/postgres-server-store.ts";

/**
 * Reachability probes for the default service URLs. They answer "is something usable there?"
 * and nothing else: they resolve a boolean, never throw, and release every socket and timer
 * they create so a failed probe cannot keep the process alive.
 */

export async function canReachRedis(url: string, timeoutMs: number): Promise<boolean> {
  let client: Redis;
  try {
    client = new Redis(url, {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      // A probe must fail fast: never reconnect, never queue.
      retryStrategy: () => null,
      reconnectOnError: () => false,
    });
  } catch {
    return false; // e.g. an unparsable URL
  }
  // Without a listener ioredis reports connection errors as "Unhandled error event" on stderr.
  client.on("error", () => {});
  const attempt = (async () => {
    try {
      await client.connect();
      return (await client.ping()) === "PONG";
    } catch {
      return false;
    }
  })();
  try {
    return await raceTimer(attempt, timeoutMs, () => false);
  } finally {
    client.disconnect(false);
  }
}

export async function canReachPostgres(url: string, timeoutMs: number): Promise<boolean> {
  let client: pg.Client;
  try {
    client = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
    });
  } catch {
    return false;
  }
  // A server that drops the connection after connect emits 'error' on the client; it must not crash us.
  client.on("error", () => {});
  const attempt = (async () => {
    try {
      await client.connect();
      return await selectOne(client);
    } catch {
      return false;
    }
  })();
  try {
    return await raceTimer(attempt, timeoutMs, () => false);
  } finally {
    await raceTimer(
      client.end().catch(() => {}),
      timeoutMs,
      () => undefined,
    );
  }
}
