import type { Queryable } from "./pg-pool.ts";

/**
 * Statements about the Postgres server itself rather than a table: whether it answers, and the
 * settings the daemon warns about. They run on a pool or on a bare connection (the embedded
 * services' reachability probe has no pool yet).
 */

/** True when the server answers a trivial statement (reachability, nothing more); throws when it cannot. */
export async function selectOne(q: Queryable): Promise<boolean> {
  const r = await q.query<{ ok: number }>("SELECT 1 AS ok");
  return r.rows[0]?.ok === 1;
}

/** The server's `autovacuum` setting (`on` or `off`), or null when it answered nothing. */
export async function autovacuumSetting(q: Queryable): Promise<string | null> {
  const r = await q.query<{ autovacuum: string }>("SHOW autovacuum");
  return r.rows[0]?.autovacuum ?? null;
}
