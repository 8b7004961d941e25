import { currentTerm, FencedError } from "../leader/fence-context.ts";

/** What a transaction needs to check the fence: one query on its own connection. */
export interface FenceClient {
  query(text: string, values?: unknown[]): Promise<{ rows: Array<{ at?: unknown }> }>;
}

/**
 * The fence check, the first statement of a leader-only transaction (pg-pool.ts runs it after
 * BEGIN). It takes the `leader_fence` row FOR SHARE only if it still names the current term
 * (daemon/leader/fence-context.ts): a new leader's install then waits for this transaction to end;
 * no row means the fence names another epoch, so the transaction must not go on. Shared locks do
 * not conflict, so the leader's own transactions never wait for each other (a pass may open one
 * inside another). One round trip: the idle timeout is set by the same statement. Outside a term
 * it does nothing.
 */
export async function checkFence(client: FenceClient): Promise<void> {
  const term = currentTerm();
  if (!term) return;
  const r = await client.query(
    `SELECT clock_timestamp() AS at FROM leader_fence
      WHERE id = 1 AND epoch = $1 AND replica_id = $2
        AND set_config('idle_in_transaction_session_timeout', $3, true) IS NOT NULL
      FOR SHARE`,
    [term.epoch, term.replicaId, String(Math.max(1, Math.floor(term.idleTimeoutMs)))],
  );
  const at = r.rows[0]?.at;
  if (!(at instanceof Date)) {
    const error = new FencedError(term.epoch);
    term.onFenced(error);
    throw error;
  }
  term.onAction(at);
}

/** Statements that change rows; a term's plain `pool.query` writes are fenced like transactions. */
const WRITES = /\b(INSERT|UPDATE|DELETE|MERGE|TRUNCATE)\b/i;

/** True when a plain query inside a leader pass must go through a fenced transaction. */
export function needsFence(text: string): boolean {
  return currentTerm() !== undefined && WRITES.test(text);
}
