import type { Queryable } from "../store/task-store.ts";
import {
  type ApprovalState,
  type Budget,
  type BudgetPeriod,
  type BudgetScope,
  type BudgetUse,
  type OnHardLimit,
  periodWindow,
} from "./budget-decision.ts";

interface BudgetDbRow {
  id: string;
  scope: BudgetScope;
  target: string;
  period: BudgetPeriod;
  soft_limit_usd: string | null;
  hard_limit_usd: string | null;
  on_hard: OnHardLimit;
  description: string | null;
  created_by: string;
  created_at: Date;
  updated_at: Date;
  spent?: string;
}

export interface StoredBudget extends Budget {
  description: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

const num = (v: string | null): number | null => (v === null ? null : Number(v));

export function toBudget(r: BudgetDbRow): StoredBudget {
  return {
    id: r.id,
    scope: r.scope,
    target: r.target,
    period: r.period,
    softLimitUsd: num(r.soft_limit_usd),
    hardLimitUsd: num(r.hard_limit_usd),
    onHard: r.on_hard,
    description: r.description,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

/**
 * Spend of each budget's scope since its period began: every call (global), the calls of runs of
 * the template, or the calls of agents of the role. $1 and $2 are the day's and the month's start.
 */
const SPENT = `coalesce((
    SELECT sum(l.cost_usd) FROM llm_calls l
    WHERE l.at >= CASE b.period WHEN 'day' THEN $1::timestamptz ELSE $2::timestamptz END
      AND (b.scope = 'global'
           OR (b.scope = 'role' AND l.role = b.target)
           OR (b.scope = 'template' AND l.run_id IN (SELECT id FROM pipeline_runs WHERE template = b.target)))
  ), 0)::text AS spent`;

const windowArgs = (now: Date) => [periodWindow("day", now).start, periodWindow("month", now).start];

const withSpend = (r: BudgetDbRow): StoredBudget & BudgetUse => ({
  ...toBudget(r),
  spentUsd: Number(r.spent ?? 0),
});

export const budgetSql = {
  async list(q: Queryable): Promise<StoredBudget[]> {
    const r = await q.query<BudgetDbRow>("SELECT * FROM budgets ORDER BY scope, target, period");
    return r.rows.map(toBudget);
  },

  async get(q: Queryable, id: string): Promise<StoredBudget | null> {
    const r = await q.query<BudgetDbRow>("SELECT * FROM budgets WHERE id = $1", [id]);
    return r.rows[0] ? toBudget(r.rows[0]) : null;
  },

  /** Every budget with its current period's spend. */
  async usage(q: Queryable, now: Date): Promise<Array<StoredBudget & BudgetUse>> {
    const r = await q.query<BudgetDbRow>(
      `SELECT b.*, ${SPENT} FROM budgets b ORDER BY b.scope, b.target, b.period`,
      windowArgs(now),
    );
    return r.rows.map(withSpend);
  },

  /**
   * The budgets that govern a run, with spend: global ones, its template's, and those of the roles
   * that made calls for the run or can take one of its remaining steps (`capabilities`).
   */
  async forRun(
    q: Queryable,
    run: { id: string; template: string },
    capabilities: string[],
    now: Date,
  ): Promise<BudgetUse[]> {
    const r = await q.query<BudgetDbRow>(
      `SELECT b.*, ${SPENT} FROM budgets b
       WHERE b.scope = 'global'
          OR (b.scope = 'template' AND b.target = $3)
          OR (b.scope = 'role' AND (
                EXISTS (SELECT 1 FROM llm_calls l WHERE l.run_id = $4 AND l.role = b.target)
             OR EXISTS (SELECT 1 FROM agents a WHERE a.role = b.target
                          AND a.state IN ('active', 'stale', 'draining') AND a.capabilities && $5::text[])))
       ORDER BY b.scope, b.target, b.period`,
      [...windowArgs(now), run.template, run.id, capabilities],
    );
    return r.rows.map(withSpend);
  },

  /** What the run's recorded LLM calls cost so far. */
  async runSpent(q: Queryable, runId: string): Promise<number> {
    const r = await q.query<{ usd: string }>(
      "SELECT coalesce(sum(cost_usd), 0)::text AS usd FROM llm_calls WHERE run_id = $1",
      [runId],
    );
    return Number(r.rows[0]?.usd ?? 0);
  },

  async approval(
    q: Queryable,
    key: { runId: string; stepId: string; generation: number },
  ): Promise<ApprovalState | null> {
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
  async requestApproval(
    q: Queryable,
    key: { runId: string; stepId: string; generation: number },
    reason: unknown,
  ): Promise<boolean> {
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
    key: { runId: string; stepId: string; generation: number },
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
  async pendingApprovals(q: Queryable) {
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
};
