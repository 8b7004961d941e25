import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import type pg from "pg";
import { schemaFor } from "../../daemon/store/migrate.ts";
import { redisKeys } from "../../daemon/store/redis/redis-keys.ts";
import { TOKENS } from "../support/services.ts";

/** What one sample reads; `gauges` are the series the verdict judges, `counters` only grow by design. */
export interface SoakSample {
  at: string;
  elapsedS: number;
  gauges: {
    daemons: Record<
      string,
      { rssMiB: number | null; heapUsedMiB: number | null; eventLoopLagP99Ms: number | null }
    >;
    redis: { usedMemoryMiB: number; namespaceKeys: number; namespaceKiB: number; agentMirrorFields: number };
    pg: { totalMiB: number; tables: Record<string, { rows: number; kiB: number; deadRows: number }> };
  };
  counters: {
    tasksSubmitted: number;
    runsSubmitted: number;
    submitErrors: number;
    agentsReplaced: number;
    /** CPU seconds (user + system) each replica used since it started (/proc/<pid>/stat). */
    cpuSeconds: Record<string, number | null>;
    /** Which replica holds the leader lease (overseer_leader), for reading the other series. */
    leader: Record<string, number | null>;
    tasksCompleted: number;
    runsCompleted: number;
    retentionDeletedRows: number;
  };
}

/** VmRSS of /proc/<pid>/status in MiB, or null once the process is gone. */
export function rssMiB(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb === undefined ? null : Number(kb) / 1024;
  } catch {
    return null;
  }
}

/** utime + stime of /proc/<pid>/stat in seconds (USER_HZ is 100 on Linux), or null once gone. */
export function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** Sums every sample line of each metric name in a Prometheus text exposition. */
export function metricSums(text: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const v = Number(m[2]);
    if (Number.isFinite(v)) sums.set(m[1] as string, (sums.get(m[1] as string) ?? 0) + v);
  }
  return sums;
}

export async function scrape(url: string): Promise<Map<string, number> | null> {
  try {
    const r = await fetch(`${url}/metrics`, {
      headers: { authorization: `Bearer ${TOKENS.viewer}` },
      signal: AbortSignal.timeout(5_000),
    });
    return r.ok ? metricSums(await r.text()) : null;
  } catch {
    return null;
  }
}

/** The namespace's keys (SCAN, bounded) and the bytes they take (MEMORY USAGE per key). */
export async function redisNamespace(redis: Redis, namespace: string) {
  let keys = 0;
  let bytes = 0;
  let cursor = "0";
  let rounds = 0;
  do {
    const [next, found] = await redis.scan(cursor, "MATCH", `ovs:{${namespace}}:*`, "COUNT", 1000);
    cursor = next;
    keys += found.length;
    if (found.length > 0) {
      const pipe = redis.pipeline();
      for (const k of found) pipe.memory("USAGE", k);
      for (const [, v] of (await pipe.exec()) ?? []) bytes += Number(v ?? 0);
    }
    if (++rounds > 100_000) throw new Error("SCAN did not finish");
  } while (cursor !== "0");
  const info = await redis.info("memory");
  const used = Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? 0);
  // Fields of the agent state mirror (one per agent it still knows, ended ones included).
  const agentMirrorFields = await redis.hlen(redisKeys(namespace).agentStates);
  return {
    usedMemoryMiB: used / 2 ** 20,
    namespaceKeys: keys,
    namespaceKiB: bytes / 1024,
    agentMirrorFields,
  };
}

/** Row count and total relation size (table + indexes + TOAST) of every table of the namespace. */
export async function pgTables(db: pg.Client, namespace: string) {
  const schema = schemaFor(namespace);
  // n_dead_tup (cumulative statistics, approximate): deleted rows whose space no VACUUM has freed yet.
  const rels = await db.query<{ relname: string; bytes: string; dead: string | null }>(
    `SELECT c.relname, pg_total_relation_size(c.oid)::bigint AS bytes, s.n_dead_tup AS dead
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
     WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY c.relname`,
    [schema],
  );
  const tables: Record<string, { rows: number; kiB: number; deadRows: number }> = {};
  let total = 0;
  if (rels.rows.length > 0) {
    // Exact counts: with retention the tables stay small, and the count is what the verdict judges.
    const counts = await db.query<{ t: string; n: number }>(
      rels.rows
        .map((r) => `SELECT '${r.relname}' AS t, count(*)::int AS n FROM "${schema}"."${r.relname}"`)
        .join(" UNION ALL "),
    );
    const byName = new Map(counts.rows.map((r) => [r.t, r.n]));
    for (const r of rels.rows) {
      const bytes = Number(r.bytes);
      total += bytes;
      tables[r.relname] = {
        rows: byName.get(r.relname) ?? 0,
        kiB: bytes / 1024,
        deadRows: Number(r.dead ?? 0),
      };
    }
  }
  return { totalMiB: total / 2 ** 20, tables };
}

/**
 * VACUUM (ANALYZE) of every table of the namespace: plain VACUUM, which marks deleted rows' space
 * reusable without blocking reads or writes. The soak runs it only in place of an autovacuum daemon
 * the server has turned off (see soak.ts); returns how long it took.
 */
export async function vacuumNamespace(db: pg.Client, namespace: string): Promise<number> {
  const schema = schemaFor(namespace);
  const started = performance.now();
  const rels = await db.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind = 'r'`,
    [schema],
  );
  for (const r of rels.rows) await db.query(`VACUUM (ANALYZE) "${schema}"."${r.relname}"`);
  return performance.now() - started;
}
