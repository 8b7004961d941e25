import { type Db, withSession } from "./pg-pool.ts";

/**
 * Runs `fn` while holding the session-level advisory lock `name` of this namespace (the schema is
 * part of the key), so at most one replica of the namespace runs it at a time. Waits at most
 * `waitMs` for the lock: a holder frozen mid-run (a paused old leader) must not block the caller
 * for as long as it sleeps; the wait then fails with lock_not_available.
 */
export async function withAdvisoryLock<T>(
  db: Db,
  name: string,
  waitMs: number,
  fn: () => Promise<T>,
): Promise<T> {
  // The session holds the lock for the whole run, idle between statements.
  return withSession(db, async (lock) => {
    try {
      await lock.query("SELECT set_config('lock_timeout', $1, false)", [String(waitMs)]);
      await lock.query("SELECT pg_advisory_lock(hashtext($1::text || ':' || current_schema()))", [name]);
      await lock.query("SELECT set_config('lock_timeout', '0', false)");
      return await fn();
    } finally {
      await lock
        .query("SELECT pg_advisory_unlock(hashtext($1::text || ':' || current_schema()))", [name])
        .catch(() => {});
      await lock.query("RESET lock_timeout").catch(() => {});
    }
  });
}
