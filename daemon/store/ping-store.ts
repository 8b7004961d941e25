import type { Queryable } from "./pg-pool.ts";

/** One round trip to Postgres (the diagnostics time it); throws when Postgres does not answer. */
export async function pingPostgres(q: Queryable): Promise<void> {
  await q.query("SELECT 1");
}
