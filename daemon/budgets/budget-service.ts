import { randomUUID } from "node:crypto";
import type { BudgetStatusView, PendingApproval } from "../../contract/schemas/budgets.ts";
import { OverseerError } from "../errors/overseer-error.ts";
import type { EventBus } from "../events/event-bus.ts";
import { auditLog } from "../store/audit-log.ts";
import { type ApprovalKey, budgetApprovalsStore } from "../store/budget-approvals-store.ts";
import { budgetsStore, type StoredBudget } from "../store/budgets-store.ts";
import { llmCallsStore } from "../store/llm-calls-store.ts";
import { type Db, type Queryable, type Tx, withTransaction } from "../store/pg-pool.ts";
import {
  type BudgetPeriod,
  type BudgetScope,
  type BudgetStepInput,
  budgetStatus,
  type OnHardLimit,
} from "./budget-decision.ts";

export interface NewBudget {
  scope: BudgetScope;
  target?: string;
  period: BudgetPeriod;
  softLimitUsd?: number | null;
  hardLimitUsd?: number | null;
  onHard?: OnHardLimit;
  description?: string | null;
}

export type BudgetPatch = Partial<
  Pick<NewBudget, "softLimitUsd" | "hardLimitUsd" | "onHard" | "description">
>;

const invalid = (message: string, field?: string) =>
  new OverseerError("OVS_ERR_VALIDATION", message, field ? { field } : undefined);

/** The rules the table's CHECKs also hold, said as 400s a person can act on. */
function checkLimits(b: {
  softLimitUsd: number | null;
  hardLimitUsd: number | null;
  onHard: OnHardLimit;
}): void {
  if (b.softLimitUsd === null && b.hardLimitUsd === null) {
    throw invalid("a budget needs a softLimitUsd, a hardLimitUsd, or both", "hardLimitUsd");
  }
  if (b.softLimitUsd !== null && b.hardLimitUsd !== null && b.softLimitUsd > b.hardLimitUsd) {
    throw invalid("softLimitUsd must not be above hardLimitUsd", "softLimitUsd");
  }
  if (b.onHard === "approval" && b.hardLimitUsd === null) {
    throw invalid("onHard 'approval' needs a hardLimitUsd", "onHard");
  }
}

/**
 * Spending limits on recorded LLM cost: CRUD with audit, the status the dashboards and metrics read,
 * and the inputs of a mission's budget step. Spend is always summed from llm_calls at read time.
 */
export class BudgetService {
  constructor(
    private readonly db: Db,
    private readonly bus: EventBus,
    private readonly newId: () => string = randomUUID,
  ) {}

  list(): Promise<StoredBudget[]> {
    return budgetsStore.list(this.db);
  }

  async get(id: string): Promise<StoredBudget> {
    const b = await budgetsStore.get(this.db, id);
    if (!b) throw new OverseerError("OVS_ERR_BUDGET_NOT_FOUND", `no budget ${id}`);
    return b;
  }

  async create(input: NewBudget, actor: string, requestId?: string): Promise<StoredBudget> {
    const target = input.target ?? "";
    if (input.scope === "global" && target !== "") throw invalid("a global budget has no target", "target");
    if (input.scope !== "global" && target === "") {
      throw invalid(`a ${input.scope} budget needs a target (the ${input.scope} name)`, "target");
    }
    const b = {
      softLimitUsd: input.softLimitUsd ?? null,
      hardLimitUsd: input.hardLimitUsd ?? null,
      onHard: input.onHard ?? "block",
    };
    checkLimits(b);
    const id = this.newId();
    const saved = await withTransaction(this.db, async (c) => {
      const inserted = await budgetsStore.insert(c, {
        id,
        scope: input.scope,
        target,
        period: input.period,
        ...b,
        description: input.description ?? null,
        createdBy: actor,
      });
      if (!inserted) {
        throw new OverseerError(
          "OVS_ERR_BUDGET_CONFLICT",
          `a ${input.period} budget for ${input.scope}${target ? ` ${target}` : ""} already exists; change it instead`,
        );
      }
      await this.audit(c, actor, "budget.create", id, { ...input, target }, requestId);
      return (await budgetsStore.get(c, id)) as StoredBudget;
    });
    this.saved(saved, actor, "budget.create");
    return saved;
  }

  async update(id: string, patch: BudgetPatch, actor: string, requestId?: string): Promise<StoredBudget> {
    const saved = await withTransaction(this.db, async (c) => {
      const current = await budgetsStore.lock(c, id);
      if (!current) throw new OverseerError("OVS_ERR_BUDGET_NOT_FOUND", `no budget ${id}`);
      const next = {
        softLimitUsd: patch.softLimitUsd === undefined ? current.softLimitUsd : patch.softLimitUsd,
        hardLimitUsd: patch.hardLimitUsd === undefined ? current.hardLimitUsd : patch.hardLimitUsd,
        onHard: patch.onHard ?? current.onHard,
        description: patch.description === undefined ? current.description : patch.description,
      };
      checkLimits(next);
      await budgetsStore.update(c, id, next);
      await this.audit(c, actor, "budget.update", id, { before: current, patch }, requestId);
      return (await budgetsStore.get(c, id)) as StoredBudget;
    });
    this.saved(saved, actor, "budget.update");
    return saved;
  }

  async remove(id: string, actor: string, requestId?: string): Promise<StoredBudget> {
    const removed = await withTransaction(this.db, async (c) => {
      const current = await budgetsStore.get(c, id);
      if (!current) throw new OverseerError("OVS_ERR_BUDGET_NOT_FOUND", `no budget ${id}`);
      await budgetsStore.delete(c, id);
      await this.audit(c, actor, "budget.delete", id, { before: current }, requestId);
      return current;
    });
    const { scope, target, period } = removed;
    this.bus.emit("budget.deleted", { budgetId: id, scope, target, period });
    this.bus.emit("operator.action", { actor, action: "budget.delete", targetKind: "budget", targetId: id });
    return removed;
  }

  /** Every budget with spend, use, burn rate and state now (the dashboards' and the metrics' view). */
  async status(now = new Date()): Promise<BudgetStatusView[]> {
    const uses = await budgetsStore.usage(this.db, now);
    return uses.map((u) => budgetStatus(u, now));
  }

  /** Budget steps waiting for an operator's approval, oldest first. */
  pendingApprovals(): Promise<PendingApproval[]> {
    return budgetApprovalsStore.pending(this.db);
  }

  /** What a run's budget step decides on, read inside the engine's transaction. */
  async stepInput(
    q: Queryable,
    run: { id: string; template: string; input: Record<string, unknown> },
    step: { stepId: string; generation: number },
    capabilities: string[],
    now: Date,
  ): Promise<BudgetStepInput> {
    // One after another: `q` is the engine's transaction client, which runs one query at a time.
    const budgets = await budgetsStore.forRun(q, run, capabilities, now);
    const runSpentUsd = await llmCallsStore.runCostUsd(q, run.id);
    const approval = await budgetApprovalsStore.get(q, { runId: run.id, ...step });
    const limit = run.input.budgetUsd;
    return {
      now,
      budgets,
      runLimitUsd: typeof limit === "number" && Number.isFinite(limit) ? limit : null,
      runSpentUsd,
      approval,
    };
  }

  /** Events go out after the commit, so no one hears of a change that rolled back. */
  requestApproval(q: Queryable, key: ApprovalKey, reason: unknown): Promise<boolean> {
    return budgetApprovalsStore.request(q, key, reason);
  }

  private saved(b: StoredBudget, actor: string, action: "budget.create" | "budget.update"): void {
    this.bus.emit("budget.saved", { budgetId: b.id, scope: b.scope, target: b.target, period: b.period });
    this.bus.emit("operator.action", { actor, action, targetKind: "budget", targetId: b.id });
  }

  private async audit(c: Tx, actor: string, action: string, id: string, data: unknown, requestId?: string) {
    await auditLog.record(c, { actor, action, targetKind: "budget", targetId: id, data, requestId });
  }
}
