import { AsyncLocalStorage } from "node:async_hooks";

/**
 * The term a leader-only pass acts in; `withTransaction` checks it first in every transaction
 * (daemon/store/leader-fence-check.ts).
 */
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
