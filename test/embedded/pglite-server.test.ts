import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runner } from "node-pg-migrate";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "../../app/embedded/pglite-server.ts";
import { portIsFree, recordingLogger, removeDir, tempDir } from "./helpers.ts";

// One PGlite for the whole file: the first start runs initdb (~6 s); later starts on the same dir are fast.
describe("embedded PGlite over the Postgres wire protocol", () => {
  let dir: string;
  let pgl: EmbeddedPostgres;
  let client: pg.Client;

  beforeAll(async () => {
    dir = await tempDir("pglite");
    pgl = await startEmbeddedPostgres({ dataDir: dir, logger: recordingLogger() });
    client = new pg.Client(pgl.url);
    await client.connect();
  }, 30_000);

  afterAll(async () => {
    await client?.end().catch(() => {});
    await pgl?.stop();
    if (dir) await removeDir(dir);
  });

  it("reports a 127.0.0.1 URL and a single connection", () => {
    expect(pgl.url).toBe(`postgres://postgres@127.0.0.1:${pgl.port}/postgres`);
    expect(pgl.maxConnections).toBe(1);
  });

  it("supports the SQL the daemon uses", async () => {
    await client.query("create schema if not exists ov");
    await client.query(`create table ov.jobs (
      id bigserial primary key,
      key text unique not null,
      tags text[] not null default '{}',
      doc jsonb not null default '{}',
      state text not null default 'queued',
      created_at timestamptz not null default now()
    )`);

    const inserted = await client.query(
      "insert into ov.jobs (key, tags, doc) values ($1, $2, $3) on conflict do nothing returning id, tags, doc, created_at",
      ["a", ["x", "y"], { n: 1, nested: { ok: true } }],
    );
    expect(inserted.rows).toHaveLength(1);
    expect(inserted.rows[0].id).toBe("1"); // bigint comes back as a string, as with real Postgres
    expect(inserted.rows[0].tags).toEqual(["x", "y"]);
    expect(inserted.rows[0].doc).toEqual({ n: 1, nested: { ok: true } });
    expect(inserted.rows[0].created_at).toBeInstanceOf(Date);

    const duplicate = await client.query(
      "insert into ov.jobs (key) values ($1) on conflict do nothing returning id",
      ["a"],
    );
    expect(duplicate.rowCount).toBe(0);

    const next = await client.query("select nextval(pg_get_serial_sequence('ov.jobs', 'id')) as v");
    expect(Number(next.rows[0].v)).toBeGreaterThan(1);

    const updated = await client.query(
      "update ov.jobs set doc = doc || $1::jsonb, state = 'running' where key = $2 returning doc, state",
      [{ extra: [1, 2] }, "a"],
    );
    expect(updated.rows[0]).toEqual({ doc: { n: 1, nested: { ok: true }, extra: [1, 2] }, state: "running" });

    const byTag = await client.query("select key from ov.jobs where tags && $1::text[]", [["y", "z"]]);
    expect(byTag.rows).toEqual([{ key: "a" }]);

    const clock = await client.query("select now() as now, pg_typeof(now())::text as type");
    expect(clock.rows[0].type).toBe("timestamp with time zone");
    expect(Math.abs(clock.rows[0].now.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it("supports transactions: COMMIT, ROLLBACK, and FOR UPDATE SKIP LOCKED", async () => {
    await client.query(
      "create table ov.queue (id bigserial primary key, taken boolean not null default false)",
    );
    await client.query("insert into ov.queue (taken) select false from generate_series(1, 3)");

    await client.query("begin");
    const claimed = await client.query(
      "select id from ov.queue where not taken order by id limit 1 for update skip locked",
    );
    await client.query("update ov.queue set taken = true where id = $1", [claimed.rows[0].id]);
    await client.query("commit");

    await client.query("begin");
    await client.query("update ov.queue set taken = true");
    await expect(client.query("select 1/0")).rejects.toThrow("division by zero");
    // The transaction is aborted until ROLLBACK, exactly as on a real server.
    await expect(client.query("select 1")).rejects.toThrow("current transaction is aborted");
    await client.query("rollback");

    const taken = await client.query("select count(*)::int as n from ov.queue where taken");
    expect(taken.rows[0].n).toBe(1);
  });

  it("runs a node-pg-migrate migration in a custom schema through a pg Client", async () => {
    const migrations = join(dir, "migrations");
    await mkdir(migrations, { recursive: true });
    await writeFile(
      join(migrations, "1700000000000_init.mjs"),
      `export const up = (pgm) => {
        pgm.createTable("runs", {
          id: "bigserial primary key",
          name: { type: "text", notNull: true },
          payload: "jsonb",
          created_at: { type: "timestamptz", notNull: true, default: pgm.func("now()") },
        });
        pgm.createIndex("runs", "name");
      };
      export const down = (pgm) => pgm.dropTable("runs");
      `,
    );
    const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
    const options = {
      dbClient: client,
      dir: migrations,
      direction: "up" as const,
      migrationsTable: "pgmigrations",
      schema: "overseer_test",
      createSchema: true,
      logger: quiet,
    };

    const ran = await runner(options);
    expect(ran.map((m) => m.name)).toEqual(["1700000000000_init"]);
    const tables = await client.query(
      "select table_name from information_schema.tables where table_schema = 'overseer_test' order by 1",
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual(["pgmigrations", "runs"]);
    expect(await runner(options)).toEqual([]); // already applied: the advisory lock and bookkeeping work
  });

  it("refuses a second concurrent connection (PGlite is a single backend)", async () => {
    const second = new pg.Client({ connectionString: pgl.url, connectionTimeoutMillis: 2000 });
    second.on("error", () => {});
    await expect(second.connect().then(() => second.query("select 1"))).rejects.toThrow();
    await second.end().catch(() => {});
    // The first connection is unaffected.
    expect((await client.query("select 1 as ok")).rows[0].ok).toBe(1);
  });

  it("rolls back the transaction of a client that disconnects mid-transaction", async () => {
    await client.query("create table ov.tx_drop (id int)");
    await client.query("begin");
    await client.query("insert into ov.tx_drop values (1)");
    await client.end();

    client = await connectWithRetry(pgl.url);
    const rows = await client.query("select count(*)::int as n from ov.tx_drop");
    expect(rows.rows[0].n).toBe(0);
  });

  it("serves a pool of size 1 (idle clients kept) under concurrent load", async () => {
    await client.end();
    const pool = new pg.Pool({ connectionString: pgl.url, max: pgl.maxConnections, idleTimeoutMillis: 0 });
    try {
      await pool.query("create table ov.load (id bigserial primary key, n int)");
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => pool.query("insert into ov.load (n) values ($1)", [i])),
      );
      const rows = await pool.query("select count(*)::int as n from ov.load");
      expect(rows.rows[0].n).toBe(50);
    } finally {
      await pool.end();
    }
    client = await connectWithRetry(pgl.url);
  });

  it("keeps data across a restart and refuses a second server on the same directory", {
    timeout: 20_000,
  }, async () => {
    await client.end();
    await pgl.stop();
    expect(await portIsFree(pgl.port)).toBe(true);

    pgl = await startEmbeddedPostgres({ dataDir: dir, logger: recordingLogger() });
    await expect(startEmbeddedPostgres({ dataDir: dir, logger: recordingLogger() })).rejects.toThrow(
      "is in use",
    );
    client = await connectWithRetry(pgl.url);
    const rows = await client.query("select key from ov.jobs");
    expect(rows.rows).toEqual([{ key: "a" }]);
  });
});

/**
 * pglite-socket allows one connection and may drop a new one that arrives while the previous
 * socket is still closing, so tests that reconnect retry briefly (see pglite-server.ts).
 */
async function connectWithRetry(url: string): Promise<pg.Client> {
  for (let attempt = 1; ; attempt++) {
    const c = new pg.Client(url);
    c.on("error", () => {});
    try {
      await c.connect();
      return c;
    } catch (err) {
      await c.end().catch(() => {});
      if (attempt >= 20) throw err;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
