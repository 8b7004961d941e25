import type { BudgetView } from "../../contract/schemas/budgets.ts";
import {
  type BudgetPeriod,
  type BudgetScope,
  type BudgetUse,
  type OnHardLimit,
  periodWindow,
} from "../budgets/budget-decision.ts";
import type { Queryable } from "./pg-pool.ts";

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

/** A budget as stored (the API's BudgetView). */
export type StoredBudget = BudgetView;

/** The limits and note of a budget: what a change may set. */
export interface BudgetLimits {
  softLimitUsd: number | null;
  hardLimitUsd: number | null;
  onHard: OnHardLimit;
  description: string | null;
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

/**
 * The `budgets` table (its one writer): spending limits on recorded LLM cost, and the reads of them
 * with what their scope spent in the current period (summed from `llm_calls` at read time).
 */
export const budgetsStore = {
  async list(q: Queryable): Promise<StoredBudget[]> {
    const r = await q.query<BudgetDbRow>("SELECT * FROM budgets ORDER BY scope, target, period");
    return r.rows.map(toBudget);
  },

  async get(q: Queryable, id: string): Promise<StoredBudget | null> {
    const r = await q.query<BudgetDbRow>("SELECT * FROM budgets WHERE id = $1", [id]);
    return r.rows[0] ? toBudget(r.rows[0]) : null;
  },

  /** Locks the budget's row for the rest of the transaction; null when there is none. */
  async lock(q: Queryable, id: string): Promise<StoredBudget | null> {
    const r = await q.query<BudgetDbRow>("SELECT * FROM budgets WHERE id = $1 FOR UPDATE", [id]);
    return r.rows[0] ? toBudget(r.rows[0]) : null;
  },

  /** Inserts a budget; false (and nothing written) when one of its scope, target and period exists. */
  async insert(
    q: Queryable,
    b: BudgetLimits & {
      id: string;
      scope: BudgetScope;
      target: string;
      period: BudgetPeriod;
      createdBy: string;
    },
  ): Promise<boolean> {
    const r = await q.query(
      `INSERT INTO budgets (id, scope, target, period, soft_limit_usd, hard_limit_usd, on_hard, description, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (scope, target, period) DO NOTHING`,
      [
        b.id,
        b.scope,
        b.target,
        b.period,
        b.softLimitUsd,
        b.hardLimitUsd,
        b.onHard,
        b.description,
        b.createdBy,
      ],
    );
    return (r.rowCount ?? 0) > 0;
  },

  async update(q: Queryable, id: string, next: BudgetLimits): Promise<void> {
    await q.query(
      `UPDATE budgets SET soft_limit_usd = $2, hard_limit_usd = $3, on_hard = $4, description = $5,
         updated_at = now() WHERE id = $1`,
      [id, next.softLimitUsd, next.hardLimitUsd, next.onHard, next.description],
    );
  },

  async delete(q: Queryable, id: string): Promise<void> {
    await q.query("DELETE FROM budgets WHERE id = $1", [id]);
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
};
