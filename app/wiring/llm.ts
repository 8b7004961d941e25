import { KpiReads } from "../../daemon/analytics/kpi-reads.ts";
import { BudgetService } from "../../daemon/budgets/budget-service.ts";
import type { OverseerConfig } from "../../daemon/config/compile-config.ts";
import type { EventBus } from "../../daemon/events/event-bus.ts";
import { FeedbackService } from "../../daemon/feedback/feedback-service.ts";
import { CostReads } from "../../daemon/llm/cost-reads.ts";
import { LlmCallService } from "../../daemon/llm/llm-call-service.ts";
import { TrainingExport } from "../../daemon/llm/training-export.ts";
import type { Db } from "../../daemon/store/pg-pool.ts";

/** LLM calls, their costs and budgets, ratings, KPIs and the training-data export. */
export function wireLlm(p: { config: OverseerConfig; db: Db; reportDb: Db; bus: EventBus }) {
  const budgets = new BudgetService(p.db, p.bus);
  return {
    budgets,
    llmCalls: new LlmCallService(p.db, p.bus, p.config.llmPricing),
    costs: new CostReads(p.db),
    kpis: new KpiReads(p.db, budgets),
    feedback: new FeedbackService(p.db, p.bus),
    // A heavy read: its own pool, with a statement timeout (app/connections.ts).
    trainingExport: new TrainingExport(p.reportDb),
  };
}

export type LlmArea = ReturnType<typeof wireLlm>;
