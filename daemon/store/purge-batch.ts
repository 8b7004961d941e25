import type { Tx } from "./pg-pool.ts";

/**
 * One bounded retention batch of a table's owner (docs/retention.md): rows deleted per table, and
 * how many of the rows the batch's limit applies to (fewer than the limit: nothing older is left).
 */
export interface PurgeBatch {
  deleted: Record<string, number>;
  parents: number;
  /** The agents statement names the agents it deleted, so their Redis mirror can go too. */
  agentIds?: string[];
}

/** A purge runs inside the retention pass's transaction (fenced on the leader); `cutoff` is exclusive. */
export type Purge = (tx: Tx, cutoff: Date, limit: number) => Promise<PurgeBatch>;

/** `SELECT (SELECT count(*) FROM cte)::int AS table, ...`: the counts of a DELETE … RETURNING CTE each. */
export function countsOf(ctes: Record<string, string>): string {
  return `SELECT ${Object.entries(ctes)
    .map(([cte, table]) => `(SELECT count(*) FROM ${cte})::int AS ${table}`)
    .join(", ")}`;
}

/** Runs a single-table, single-statement purge whose result row has one count column, `table`. */
export async function purgeOne(
  tx: Tx,
  table: string,
  text: string,
  cutoff: Date,
  limit: number,
): Promise<PurgeBatch> {
  const r = await tx.query<Record<string, number>>(text, [cutoff, limit]);
  const n = Number(r.rows[0]?.[table] ?? 0);
  return { deleted: { [table]: n }, parents: n };
}
