import type { EventBus } from "../events/event-bus.ts";
import { type Db, withTransaction } from "../store/pg-pool.ts";
import type { Purge } from "../store/purge-batch.ts";
import { type RetentionKeep, type RetentionTarget, retentionPlan } from "./retention-policy.ts";

export interface RetentionOptions {
  keep: RetentionKeep;
  /** Most parent rows one batch deletes (tasks, agents, single-table targets). @default 1000 */
  batchSize?: number;
  /**
   * Most pipeline runs one batch deletes. A run carries its child rows with it: a built-in
   * `mission` run measured 6 steps, about 14 events and 1 artifact in the soak (docs/soak.md), so
   * 50 runs is about the 1,000 rows of one batch. @default 50
   */
  runBatchSize?: number;
  /** Batches per target per pass; what is left waits for the next pass. @default 10 */
  maxStatementsPerTarget?: number;
  now?: () => number;
  /**
   * Called with the ids of agents a batch deleted from Postgres, to drop what Redis still
   * mirrors of them (the state hash keeps ended agents, so a late heartbeat gets 404). Without
   * this, the mirror would grow by one field per agent ever registered.
   */
  onAgentsDeleted?: (ids: string[]) => Promise<void>;
}

export interface RetentionPassResult {
  /** Rows deleted by table (only tables with deletions). */
  deleted: Record<string, number>;
  /** Batches run, each its own transaction. */
  statements: number;
  durationMs: number;
  /** False when some target hit maxStatementsPerTarget and still had rows to delete. */
  complete: boolean;
}

/**
 * Deletes history older than its keep in bounded batches (docs/retention.md). The leader runs it
 * from an interval loop; running it on two replicas at once is safe (SKIP LOCKED), only wasteful.
 */
export class RetentionService {
  private readonly batchSize: number;
  private readonly runBatchSize: number;
  private readonly maxStatements: number;
  private readonly now: () => number;

  constructor(
    private readonly db: Db,
    /** Each target's purge, by its tables' owner (retention-purges.ts). */
    private readonly purges: Record<RetentionTarget, Purge>,
    private readonly bus: EventBus,
    private readonly options: RetentionOptions,
  ) {
    this.batchSize = options.batchSize ?? 1_000;
    this.runBatchSize = options.runBatchSize ?? 50;
    this.maxStatements = options.maxStatementsPerTarget ?? 10;
    this.now = options.now ?? Date.now;
  }

  /** One pass over every target whose keep is not 0. */
  async run(): Promise<RetentionPassResult> {
    const started = performance.now();
    const deleted: Record<string, number> = {};
    let statements = 0;
    let complete = true;
    for (const step of retentionPlan(this.options.keep, this.now())) {
      const limit = this.limitFor(step.target);
      const purge = this.purges[step.target];
      let done = false;
      for (let i = 0; i < this.maxStatements && !done; i++) {
        // Each batch in its own transaction, so that in the leader's pass each one checks the
        // leader fence first (daemon/leader/fence-context.ts) and a stale leader deletes nothing.
        const batch = await withTransaction(this.db, (tx) => purge(tx, step.cutoff, limit));
        statements++;
        for (const [table, n] of Object.entries(batch.deleted)) {
          const count = Number(n);
          if (count > 0) deleted[table] = (deleted[table] ?? 0) + count;
        }
        if (batch.agentIds && batch.agentIds.length > 0) await this.options.onAgentsDeleted?.(batch.agentIds);
        done = batch.parents < limit;
      }
      if (!done) complete = false;
    }
    const result = { deleted, statements, durationMs: performance.now() - started, complete };
    this.bus.emit("retention.completed", result);
    return result;
  }

  private limitFor(target: RetentionTarget): number {
    return target === "pipeline_runs" ? this.runBatchSize : this.batchSize;
  }
}
