import pg from "pg";
import { onEmergency } from "../support/emergency.ts";
import { benchNamespace, DATABASE_URL, dropSchema, pgClient } from "../support/services.ts";
import {
  DELETE_OTHER_QUEUES,
  INSERT_JOB,
  INSERT_JOBS,
  JOBS_BY_QUEUE,
  schemaDdl,
  searchPath,
} from "./skiplocked-sql.ts";
import type { ThroughputParams } from "./throughput-overseer.ts";
import { type PeerThroughput, peerThroughput } from "./throughput-peer.ts";

const QUEUE = "tp";

/**
 * The floor a Postgres queue can reach: one table in a schema of its own (bench_skl_<hex>, dropped
 * at the end), jobs added with one autocommitted INSERT each through a pool of submitConcurrency
 * connections (bulk: one INSERT … unnest a chunk), taken with UPDATE … FOR UPDATE SKIP LOCKED and
 * deleted one statement per job by the worker child (bench/load/skiplocked-worker.ts), driven
 * through the same phases and slots as raw BullMQ.
 */
export async function skipLockedThroughput(p: ThroughputParams): Promise<PeerThroughput> {
  const schema = benchNamespace("skl");
  const forget = onEmergency(() => dropSchema(schema));
  let pool: pg.Pool | undefined;
  try {
    const admin = await pgClient();
    try {
      await admin.query(schemaDdl(schema));
    } finally {
      await admin.end();
    }
    // One connection per submission in flight, so no add waits for a connection.
    const db = new pg.Pool({
      connectionString: DATABASE_URL,
      options: searchPath(schema),
      max: p.submitConcurrency,
    });
    pool = db;
    // Named statements: parsed once per connection, as any queue on a hot path would.
    const insert = (queue: string) => async (i: number) => {
      await db.query({ name: "skl-insert", text: INSERT_JOB, values: [queue, { n: i }] });
    };
    return await peerThroughput(p, {
      worker: {
        name: "SKIP LOCKED worker",
        entry: "bench/load/skiplocked-worker.ts",
        env: {
          DATABASE_URL,
          SKL_SCHEMA: schema,
          SKL_QUEUE: QUEUE,
          SKL_SLOTS: String(p.agents * p.agentConcurrency),
        },
      },
      add: insert(QUEUE),
      warm: insert("warm"),
      addBulk: async (first, count) => {
        const payloads = Array.from({ length: count }, (_, j) => JSON.stringify({ n: first + j }));
        await db.query({ name: "skl-insert-bulk", text: INSERT_JOBS, values: ["bulk", payloads] });
      },
      clearUnconsumed: async () => {
        await db.query(DELETE_OTHER_QUEUES, [QUEUE]);
      },
      checks: async () => {
        const left = await db.query<{ queue: string; n: number }>(JOBS_BY_QUEUE);
        return { schema, jobsLeft: Object.fromEntries(left.rows.map((r) => [r.queue, r.n])) };
      },
    });
  } finally {
    await pool?.end().catch(() => {});
    await dropSchema(schema).catch((error) => console.error(`dropping ${schema} failed:`, error));
    forget();
  }
}
