import { fileURLToPath } from "node:url";
import { runner } from "node-pg-migrate";
import type pg from "pg";

const MIGRATIONS_DIR = fileURLToPath(new URL("./migrations", import.meta.url));

/** Postgres schema that holds one namespace's data. */
export function schemaFor(namespace: string): string {
  return `overseer_${namespace}`;
}

/**
 * Brings the namespace's schema up to the newest migration. node-pg-migrate takes an advisory lock,
 * so replicas starting together run each migration once.
 */
export async function migrate(pool: pg.Pool, namespace: string, log: (msg: string) => void): Promise<void> {
  // Through a pooled client rather than a separate connection: embedded PGlite takes one at a time.
  const client = await pool.connect();
  try {
    await runner({
      dbClient: client,
      dir: MIGRATIONS_DIR,
      direction: "up",
      migrationsTable: "pgmigrations",
      schema: schemaFor(namespace),
      createSchema: true,
      checkOrder: true,
      log,
    });
  } finally {
    client.release();
  }
}
