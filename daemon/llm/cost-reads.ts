import { OverseerError } from "../errors/overseer-error.ts";
import type { Db } from "../store/pg-pool.ts";

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

/** Postgres numeric (a string) to a number rounded to 8 decimals; null stays null. */
export const usd = (v: string | number | null | undefined): number =>
  v === null || v === undefined ? 0 : Math.round(Number(v) * 1e8) / 1e8;
const num = (v: string | number | null | undefined): number =>
  v === null || v === undefined ? 0 : Number(v);
const ms = (v: string | number | null | undefined): number | null =>
  v === null || v === undefined ? null : Math.round(Number(v));

// The shared aggregate columns: cost summed as numeric in SQL, tokens as bigint, counts as int.
const TOTALS = `round(coalesce(sum(c.cost_usd), 0), 8)::text AS usd,
  count(*)::int AS calls,
  coalesce(sum(c.input_tokens), 0)::text AS input_tokens,
  coalesce(sum(c.output_tokens), 0)::text AS output_tokens,
  (count(*) FILTER (WHERE NOT c.priced))::int AS unpriced`;

interface TotalsRow {
  usd: string;
  calls: number;
  input_tokens: string;
  output_tokens: string;
  unpriced: number;
}

const totals = (r: TotalsRow) => ({
  totalUsd: usd(r.usd),
  calls: r.calls,
  inputTokens: num(r.input_tokens),
  outputTokens: num(r.output_tokens),
  unpricedCalls: r.unpriced,
});

/**
 * The cost and usage reads the dashboards call, over `llm_calls` (the system of record) at request
 * time. An empty window answers zeros, empty arrays and nulls, never samples.
 */
export class CostReads {
  constructor(private readonly db: Db) {}

  /** Totals and totals by agent role. */
  async costs(window: CostWindow) {
    const { from, to } = resolveWindow(window);
    const args = [from, to];
    const [all, byRole] = await Promise.all([
      this.db.query<TotalsRow>(`SELECT ${TOTALS} FROM llm_calls c WHERE c.at >= $1 AND c.at < $2`, args),
      this.db.query<TotalsRow & { role: string }>(
        `SELECT c.role, ${TOTALS} FROM llm_calls c WHERE c.at >= $1 AND c.at < $2
         GROUP BY c.role ORDER BY sum(c.cost_usd) DESC, c.role`,
        args,
      ),
    ]);
    const row = all.rows[0] as TotalsRow;
    return {
      ...totals(row),
      byRole: byRole.rows.map((r) => ({ role: r.role, ...totals(r) })),
      from: from.toISOString(),
      to: to.toISOString(),
    };
  }

  /**
   * By pipeline step: the run's template (from `pipeline_runs`) and the call's step id. Calls outside
   * any run, or whose run is gone, have template null; calls with no step have stepId null.
   */
  async byPhase(window: CostWindow & { template?: string }) {
    const { from, to } = resolveWindow(window);
    const args: unknown[] = [from, to];
    let filter = "";
    if (window.template) {
      args.push(window.template);
      filter = "AND r.template = $3";
    }
    const r = await this.db.query<TotalsRow & { template: string | null; step_id: string | null }>(
      `SELECT r.template, c.step_id, ${TOTALS}
       FROM llm_calls c LEFT JOIN pipeline_runs r ON r.id = c.run_id
       WHERE c.at >= $1 AND c.at < $2 ${filter}
       GROUP BY r.template, c.step_id
       ORDER BY r.template NULLS LAST, c.step_id NULLS LAST`,
      args,
    );
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      template: window.template ?? null,
      steps: r.rows.map((row) => ({ template: row.template, stepId: row.step_id, ...totals(row) })),
    };
  }

  /** By provider and model, most expensive first. */
  async byModel(window: CostWindow) {
    const { from, to } = resolveWindow(window);
    const r = await this.db.query<TotalsRow & { provider: string; model: string }>(
      `SELECT c.provider, c.model, ${TOTALS} FROM llm_calls c WHERE c.at >= $1 AND c.at < $2
       GROUP BY c.provider, c.model ORDER BY sum(c.cost_usd) DESC, c.provider, c.model`,
      [from, to],
    );
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      models: r.rows.map((row) => ({ provider: row.provider, model: row.model, ...totals(row) })),
    };
  }

  /** Time buckets (UTC hour or day) that have calls, oldest first. */
  async history(window: CostWindow & { bucket: "hour" | "day" }) {
    const { from, to } = resolveWindow(window);
    const r = await this.db.query<TotalsRow & { bucket: Date }>(
      `SELECT (date_trunc($3, c.at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS bucket, ${TOTALS}
       FROM llm_calls c WHERE c.at >= $1 AND c.at < $2
       GROUP BY 1 ORDER BY 1`,
      [from, to, window.bucket],
    );
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      bucket: window.bucket,
      buckets: r.rows.map((row) => ({ start: row.bucket.toISOString(), ...totals(row) })),
    };
  }

  /** Calls, errors by type, tokens, latency and time to first token, overall and by model. */
  async usage(window: CostWindow) {
    const { from, to } = resolveWindow(window);
    const args = [from, to];
    const USAGE = `count(*)::int AS calls,
      (count(*) FILTER (WHERE c.status = 'error'))::int AS errors,
      coalesce(sum(c.input_tokens), 0)::text AS input_tokens,
      coalesce(sum(c.output_tokens), 0)::text AS output_tokens,
      coalesce(sum(c.input_tokens + c.output_tokens) FILTER (WHERE c.tokens_counted), 0)::text AS estimated_tokens,
      avg(c.latency_ms)::float8 AS latency_avg,
      (percentile_cont(0.95) WITHIN GROUP (ORDER BY c.latency_ms))::float8 AS latency_p95,
      avg(c.ttft_ms)::float8 AS ttft_avg,
      (percentile_cont(0.95) WITHIN GROUP (ORDER BY c.ttft_ms))::float8 AS ttft_p95`;
    type UsageRow = {
      calls: number;
      errors: number;
      input_tokens: string;
      output_tokens: string;
      estimated_tokens: string;
      latency_avg: number | null;
      latency_p95: number | null;
      ttft_avg: number | null;
      ttft_p95: number | null;
    };
    const usage = (u: UsageRow) => {
      const input = num(u.input_tokens);
      const output = num(u.output_tokens);
      return {
        calls: u.calls,
        errors: u.errors,
        tokens: { input, output, total: input + output, estimated: num(u.estimated_tokens) },
        latencyMs: { avg: ms(u.latency_avg), p95: ms(u.latency_p95) },
        ttftMs: { avg: ms(u.ttft_avg), p95: ms(u.ttft_p95) },
      };
    };
    const [all, errors, byModel] = await Promise.all([
      this.db.query<UsageRow>(`SELECT ${USAGE} FROM llm_calls c WHERE c.at >= $1 AND c.at < $2`, args),
      this.db.query<{ error_type: string | null; calls: number }>(
        `SELECT c.error_type, count(*)::int AS calls FROM llm_calls c
         WHERE c.at >= $1 AND c.at < $2 AND c.status = 'error'
         GROUP BY c.error_type ORDER BY count(*) DESC, c.error_type`,
        args,
      ),
      this.db.query<UsageRow & { provider: string; model: string }>(
        `SELECT c.provider, c.model, ${USAGE} FROM llm_calls c WHERE c.at >= $1 AND c.at < $2
         GROUP BY c.provider, c.model ORDER BY count(*) DESC, c.provider, c.model`,
        args,
      ),
    ]);
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      ...usage(all.rows[0] as UsageRow),
      errorsByType: errors.rows.map((e) => ({ errorType: e.error_type ?? "other", calls: e.calls })),
      byModel: byModel.rows.map((m) => ({ provider: m.provider, model: m.model, ...usage(m) })),
    };
  }
}
