import { readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { runner } from "node-pg-migrate";
import type pg from "pg";

const MIGRATIONS_DIR = fileURLToPath(new URL("./migrations", import.meta.url));
let names: Promise<string[]> | null = null;

/** The migrations this version applies, by name (the files of migrations/, sorted). */
function migrationNames(): Promise<string[]> {
  names ??= readdir(MIGRATIONS_DIR).then((files) =>
    files
      .filter((n) => /\.(sql|js|ts)$/.test(n))
      .map((n) => n.replace(/\.(sql|js|ts)$/, ""))
      .sort(),
  );
  return names;
}

/** Migrations this version has that the namespace's migrations table does not record (empty when up to date). */
export async function pendingMigrations(db: Pick<pg.PoolClient, "query">): Promise<string[]> {
  const files = await migrationNames();
  const { rows } = await db.query<{ name: string }>("SELECT name FROM pgmigrations");
  const applied = new Set(rows.map((r) => r.name));
  return files.filter((f) => !applied.has(f));
}

/** Postgres schema that holds one namespace's data. */
export function schemaFor(namespace: string): string {
  return `overseer_${namespace}`;
}

/**
 * Brings the namespace's schema up to the newest migration. Replicas starting together queue on an
 * advisory lock keyed by the namespace (waiting rather than failing), so each migration runs once
 * and namespaces do not block each other.
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
      advisoryLockMode: "wait",
      lockValue: lockIdFor(namespace),
      log,
    });
  } finally {
    client.release();
  }
}

/** A stable 31-bit advisory lock id per namespace. */
function lockIdFor(namespace: string): number {
  let h = 0x811c9dc5;
  for (const ch of `overseer-migrate:${namespace}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return h & 0x7fffffff;
}
