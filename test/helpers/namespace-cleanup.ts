import { Redis } from "ioredis";
import pg from "pg";
import { schemaFor } from "../../daemon/store/migrate.ts";
import { DATABASE_URL, REDIS_URL } from "./test-env.ts";

/** Drops a test namespace's Postgres schema and Redis keys. */
export async function dropNamespace(namespace: string): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schemaFor(namespace)} CASCADE`);
  } finally {
    await client.end();
  }
  const redis = new Redis(REDIS_URL);
  try {
    for (const pattern of [`ovs:{${namespace}}:*`, `ovs:${namespace}:*`]) {
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== "0");
    }
  } finally {
    redis.disconnect();
  }
}

/** A direct Postgres client inside a namespace's schema, for assertions on the system of record. */
export async function namespaceDb(namespace: string): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: DATABASE_URL,
    options: `-c search_path=${schemaFor(namespace)}`,
  });
  await client.connect();
  return client;
}
