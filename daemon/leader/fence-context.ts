import { AsyncLocalStorage } from "node:async_hooks";

/** What a transaction needs to check the fence: one query on its own connection. */
export interface FenceClient {
  query(text: string, values?: unknown[]): Promise<{ rows: Array<{ at?: unknown }> }>;
}

/** The term a leader-only pass acts in; `withTransaction` checks it first in every transaction. */
export interface LeaderTerm {
  epoch: number;
  replicaId: string;
  /**
   * Postgres ends a fenced transaction left idle this long: a leader frozen (SIGSTOP, swap) inside
   * one would otherwise hold the fence and stall the next leader's install for as long as it sleeps.
   */
  idleTimeoutMs: number;
  /** Called once a check failed: the replica stops acting as leader at once. */
  onFenced(error: FencedError): void;
  /** Called after each check that passed, with Postgres's clock at the check (under the lock). */
  onAction(at: Date): void;
}

/** A leader-only write was refused: another replica has installed a newer epoch. */
export class FencedError extends Error {
  constructor(readonly epoch: number) {
    super(`leader epoch ${epoch} is fenced off: a newer leader has taken over`);
    this.name = "FencedError";
  }
}

// Why AsyncLocalStorage: the leader-only loops reach Postgres through many services (liveness,
// tasks, pipelines, recovery, probes, retention) that API requests use too. Running each pass in
// the term's context fences every transaction the pass opens, with no fencing argument threaded
// through them, and leaves the same code unfenced when an API request calls it.
const terms = new AsyncLocalStorage<LeaderTerm>();

/** Runs a leader-only pass so that every transaction it opens is fenced by `term`. */
export function actAsLeader<T>(term: LeaderTerm, fn: () => Promise<T>): Promise<T> {
  return terms.run(term, fn);
}

/**
 * The fence check, the first statement of a leader-only transaction. It takes the fence row FOR
 * SHARE only if it still names this term: a new leader's install then waits for this transaction
 * to end; no row means the fence names another epoch, so the transaction must not go on. Shared
 * locks do not conflict, so the leader's own transactions never wait for each other (a pass may
 * open one inside another). One round trip: the idle timeout is set by the same statement.
 */
export async function checkFence(client: FenceClient): Promise<void> {
  const term = terms.getStore();
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

/** The term of the pass running now, if any. */
export function currentTerm(): LeaderTerm | undefined {
  return terms.getStore();
}

/**
 * Runs `fn`, and everything it starts, outside any term: event sinks and other work a leader pass
 * merely triggers (a run advanced because its task completed) is not the leader's own action, and
 * must neither be fenced nor counted as such.
 */
export function outsideTerm<T>(fn: () => T): T {
  return terms.exit(fn);
}

/** Statements that change rows; a term's plain `pool.query` writes are fenced like transactions. */
const WRITES = /\b(INSERT|UPDATE|DELETE|MERGE|TRUNCATE)\b/i;

/** True when a plain query inside a leader pass must go through a fenced transaction. */
export function needsFence(text: string): boolean {
  return terms.getStore() !== undefined && WRITES.test(text);
}
