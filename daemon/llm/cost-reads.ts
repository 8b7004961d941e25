import type {
  CostBucket,
  CostByModelReply,
  CostByPhaseReply,
  CostHistoryReply,
  CostsReply,
  UsageReply,
} from "../../contract/schemas/costs.ts";
import { OverseerError } from "../errors/overseer-error.ts";
import { costReadsStore as store } from "../store/cost-reads-store.ts";
import type { Queryable } from "../store/pg-pool.ts";

/** A time window `[from, to)` as ISO strings; both are optional and default to the last 30 days. */
export interface CostWindow {
  from?: string;
  to?: string;
}

const DAY_MS = 86_400_000;
export const DEFAULT_COST_WINDOW_DAYS = 30;

/** Resolves a window: `to` defaults to now, `from` to 30 days before `to`; `from` must be before `to`. */
export function resolveWindow(w: CostWindow, now = new Date()): { from: Date; to: Date } {
  const to = w.to ? new Date(w.to) : now;
  const from = w.from ? new Date(w.from) : new Date(to.getTime() - DEFAULT_COST_WINDOW_DAYS * DAY_MS);
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) {
    throw new OverseerError("OVS_ERR_VALIDATION", "from and to must be ISO date-times");
  }
  if (from.getTime() >= to.getTime()) {
    throw new OverseerError("OVS_ERR_VALIDATION", "from must be before to");
  }
  return { from, to };
}

/**
 * The cost and usage reads the dashboards call, over `llm_calls` (the system of record) at request
 * time. An empty window answers zeros, empty arrays and nulls, never samples.
 */
export class CostReads {
  constructor(private readonly db: Queryable) {}

  /** Totals and totals by agent role. */
  async costs(window: CostWindow): Promise<CostsReply> {
    const w = resolveWindow(window);
    const [all, byRole] = await Promise.all([store.totals(this.db, w), store.byRole(this.db, w)]);
    return { ...all, byRole, from: w.from.toISOString(), to: w.to.toISOString() };
  }

  /**
   * By pipeline step: the run's template (from `pipeline_runs`) and the call's step id. Calls outside
   * any run, or whose run is gone, have template null; calls with no step have stepId null.
   */
  async byPhase(window: CostWindow & { template?: string }): Promise<CostByPhaseReply> {
    const w = resolveWindow(window);
    return {
      from: w.from.toISOString(),
      to: w.to.toISOString(),
      template: window.template ?? null,
      steps: await store.byPhase(this.db, w, window.template),
    };
  }

  /** By provider and model, most expensive first. */
  async byModel(window: CostWindow): Promise<CostByModelReply> {
    const w = resolveWindow(window);
    return { from: w.from.toISOString(), to: w.to.toISOString(), models: await store.byModel(this.db, w) };
  }

  /** Time buckets (UTC hour or day) that have calls, oldest first. */
  async history(window: CostWindow & { bucket: CostBucket }): Promise<CostHistoryReply> {
    const w = resolveWindow(window);
    return {
      from: w.from.toISOString(),
      to: w.to.toISOString(),
      bucket: window.bucket,
      buckets: await store.history(this.db, w, window.bucket),
    };
  }

  /** Calls, errors by type, tokens, latency and time to first token, overall and by model. */
  async usage(window: CostWindow): Promise<UsageReply> {
    const w = resolveWindow(window);
    const [all, errorsByType, byModel] = await Promise.all([
      store.usage(this.db, w),
      store.errorsByType(this.db, w),
      store.usageByModel(this.db, w),
    ]);
    return { from: w.from.toISOString(), to: w.to.toISOString(), ...all, errorsByType, byModel };
  }
}
