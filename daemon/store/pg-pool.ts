import pg from "pg";
import { checkFence, needsFence } from "./leader-fence-check.ts";
import { schemaFor } from "./migrate.ts";

// bigint (int8) columns such as lease tokens and counts come back as strings; keep them so:
// fencing tokens are compared as exact decimal strings, never as rounded JS numbers.

export type Db = pg.Pool;
/** A transaction's connection: stores take it to join the caller's transaction. */
export type Tx = pg.PoolClient;
/** Anything a statement can run on: the pool, or a transaction's connection. */
export type Queryable = Pick<pg.PoolClient, "query">;

function isQueryConfig(x: unknown): x is pg.QueryConfig {
  return typeof x === "object" && x !== null && typeof (x as { text?: unknown }).text === "string";
}

/** A pool whose every connection works inside the namespace's schema. */
export function createPool(
  databaseUrl: string,
  namespace: string,
  options: { max: number; idleTimeoutMillis?: number; statementTimeoutMs?: number },
): Db {
  const schema = schemaFor(namespace);
  // search_path is a startup option of each connection, so no query can ever run in another schema.
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    options:
      `-c search_path=${schema}` +
      // Set per connection at startup, like the schema: a heavy read cannot outlive it.
      (options.statementTimeoutMs ? ` -c statement_timeout=${Math.round(options.statementTimeoutMs)}` : ""),
    max: options.max,
    idleTimeoutMillis: options.idleTimeoutMillis ?? 30_000,
  });
  // A plain write issued inside a leader pass (an INSERT through `pool.query`, not a transaction)
  // is fenced too: it runs as a one-statement transaction that checks the fence first.
  const plain = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  pool.query = ((...args: unknown[]) => {
    const [text, values] = args;
    if (typeof text === "string" && typeof values !== "function" && needsFence(text)) {
      return withTransaction(pool, (c) => c.query(text, values as unknown[] | undefined));
    }
    // A named (prepared) statement is given as a config object: fenced the same way.
    if (isQueryConfig(text) && values === undefined && needsFence(text.text)) {
      return withTransaction(pool, (c) => c.query(text));
    }
    return plain(...args);
  }) as typeof pool.query;
  return pool;
}

/**
 * Runs `fn` in a transaction; rolls back and rethrows on error. Inside a leader-only pass
 * (`actAsLeader`), the transaction first checks the leader fence and fails with `FencedError` when
 * a newer leader has taken over, before it changes anything.
 */
export function withTransaction<T>(db: Db, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return transaction(db, "BEGIN", fn);
}

/**
 * Runs several reads against one snapshot (REPEATABLE READ), so an answer assembled from more than
 * one statement never mixes states from before and after another transaction's commit.
 */
export function withSnapshot<T>(db: Db, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return transaction(db, "BEGIN ISOLATION LEVEL REPEATABLE READ", fn);
}

async function transaction<T>(db: Db, begin: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return withSession(db, async (client) => {
    try {
      await client.query(begin);
      await checkFence(client);
      const result = await fn(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    }
  });
}

/**
 * Runs `fn` on a connection of its own, taken from the pool and given back after. A connection that
 * dies while idle between statements (Postgres restarted, or it ended a session idle past
 * idle_in_transaction_session_timeout) emits 'error' with no query to fail: without a listener that
 * is an uncaught exception. The next statement fails instead, and the connection is dropped rather
 * than returned to the pool.
 */
export async function withSession<T>(db: Db, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  let broken: Error | undefined;
  const onBroken = (error: Error) => {
    broken = error;
  };
  client.on("error", onBroken);
  try {
    return await fn(client);
  } finally {
    client.off("error", onBroken);
    client.release(broken);
  }
}
