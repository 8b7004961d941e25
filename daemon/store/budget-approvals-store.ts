import type { PendingApproval } from "../../contract/schemas/budgets.ts";
import type { ApprovalState } from "../budgets/budget-decision.ts";
import type { Queryable, Tx } from "./pg-pool.ts";
import { countsOf } from "./purge-batch.ts";

/** One step generation's approval request. */
export interface ApprovalKey {
  runId: string;
  stepId: string;
  generation: number;
}

/**
 * The `budget_approvals` table (its one writer): a mission's budget step that went over a hard
 * limit whose budget says `approval` waits here, one row per step generation, for an operator.
 */
export const budgetApprovalsStore = {
  async get(q: Queryable, key: ApprovalKey): Promise<ApprovalState | null> {
    const r = await q.query<{
      state: ApprovalState["state"];
      decided_by: string | null;
      comment: string | null;
    }>(
      "SELECT state, decided_by, comment FROM budget_approvals WHERE run_id = $1 AND step_id = $2 AND generation = $3",
      [key.runId, key.stepId, key.generation],
    );
    const row = r.rows[0];
    return row ? { state: row.state, decidedBy: row.decided_by, comment: row.comment } : null;
  },

  /** Opens the approval request of a step generation once; a later pass finds it open. */
  async request(q: Queryable, key: ApprovalKey, reason: unknown): Promise<boolean> {
    const r = await q.query(
      `INSERT INTO budget_approvals (run_id, step_id, generation, state, reason)
       VALUES ($1, $2, $3, 'pending', $4) ON CONFLICT DO NOTHING`,
      [key.runId, key.stepId, key.generation, JSON.stringify(reason)],
    );
    return (r.rowCount ?? 0) > 0;
  },

  /** Settles a pending request; false when there is none for that generation. */
  async decide(
    q: Queryable,
    key: ApprovalKey,
    decision: "approved" | "rejected",
    actor: string,
    comment: string | null,
  ): Promise<boolean> {
    const r = await q.query(
      `UPDATE budget_approvals SET state = $4, decided_by = $5, comment = $6, decided_at = now()
       WHERE run_id = $1 AND step_id = $2 AND generation = $3 AND state = 'pending'`,
      [key.runId, key.stepId, key.generation, decision, actor, comment],
    );
    return (r.rowCount ?? 0) > 0;
  },

  /** Open requests of steps still waiting (a cancelled run's request is not waiting any more). */
  async pending(q: Queryable): Promise<PendingApproval[]> {
    const r = await q.query<{
      run_id: string;
      step_id: string;
      generation: number;
      template: string;
      reason: unknown;
      requested_at: Date;
    }>(
      `SELECT a.run_id, a.step_id, a.generation, r.template, a.reason, a.requested_at
       FROM budget_approvals a
       JOIN pipeline_runs r ON r.id = a.run_id
       JOIN pipeline_steps s ON s.run_id = a.run_id AND s.step_id = a.step_id AND s.generation = a.generation
       WHERE a.state = 'pending' AND s.state = 'running' AND r.state IN ('running', 'paused', 'snoozed')
       ORDER BY a.requested_at`,
    );
    return r.rows.map((row) => ({
      runId: row.run_id,
      stepId: row.step_id,
      generation: row.generation,
      template: row.template,
      reason: row.reason,
      requestedAt: row.requested_at.toISOString(),
    }));
  },

  /** Retention: the approvals of runs being deleted. */
  async deleteOfRuns(tx: Tx, runIds: string[]): Promise<Record<string, number>> {
    const r = await tx.query<Record<string, number>>(
      `WITH d AS (DELETE FROM budget_approvals WHERE run_id = ANY($1::uuid[]) RETURNING 1)
       ${countsOf({ d: "budget_approvals" })}`,
      [runIds],
    );
    return r.rows[0] ?? {};
  },
};
