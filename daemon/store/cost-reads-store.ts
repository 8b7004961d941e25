import type { CostBucket, CostTotals, LlmUsage } from "../../contract/schemas/costs.ts";
import type { LlmCallErrorType } from "../../contract/schemas/llm.ts";
import type { Queryable } from "./pg-pool.ts";

/** Postgres numeric (a string) to a number rounded to 8 decimals; null is 0. */
const usd = (v: string | number | null | undefined): number =>
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

const totals = (r: TotalsRow): CostTotals => ({
  totalUsd: usd(r.usd),
  calls: r.calls,
  inputTokens: num(r.input_tokens),
  outputTokens: num(r.output_tokens),
  unpricedCalls: r.unpriced,
});

const USAGE = `count(*)::int AS calls,
  (count(*) FILTER (WHERE c.status = 'error'))::int AS errors,
  coalesce(sum(c.input_tokens), 0)::text AS input_tokens,
  coalesce(sum(c.output_tokens), 0)::text AS output_tokens,
  coalesce(sum(c.input_tokens + c.output_tokens) FILTER (WHERE c.tokens_counted), 0)::text AS estimated_tokens,
  avg(c.latency_ms)::float8 AS latency_avg,
  (percentile_cont(0.95) WITHIN GROUP (ORDER BY c.latency_ms))::float8 AS latency_p95,
  avg(c.ttft_ms)::float8 AS ttft_avg,
  (percentile_cont(0.95) WITHIN GROUP (ORDER BY c.ttft_ms))::float8 AS ttft_p95`;

interface UsageRow {
  calls: number;
  errors: number;
  input_tokens: string;
  output_tokens: string;
  estimated_tokens: string;
  latency_avg: number | null;
  latency_p95: number | null;
  ttft_avg: number | null;
  ttft_p95: number | null;
}

const usage = (u: UsageRow): LlmUsage => {
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

/** A window `[from, to)` of `llm_calls.at`. */
export interface CallWindow {
  from: Date;
  to: Date;
}

/**
 * Aggregate reads of `llm_calls` (the system of record of LLM cost) over a time window, for the
 * cost and usage endpoints. An empty window answers zeros and empty lists.
 */
export const costReadsStore = {
  async totals(q: Queryable, w: CallWindow): Promise<CostTotals> {
    const r = await q.query<TotalsRow>(`SELECT ${TOTALS} FROM llm_calls c WHERE c.at >= $1 AND c.at < $2`, [
      w.from,
      w.to,
    ]);
    return totals(r.rows[0] as TotalsRow);
  },

  /** Totals by agent role, most expensive first. */
  async byRole(q: Queryable, w: CallWindow): Promise<Array<{ role: string } & CostTotals>> {
    const r = await q.query<TotalsRow & { role: string }>(
      `SELECT c.role, ${TOTALS} FROM llm_calls c WHERE c.at >= $1 AND c.at < $2
       GROUP BY c.role ORDER BY sum(c.cost_usd) DESC, c.role`,
      [w.from, w.to],
    );
    return r.rows.map((row) => ({ role: row.role, ...totals(row) }));
  },

  /**
   * By the run's template (from `pipeline_runs`) and the call's step id: calls outside any run, or
   * whose run is gone, have template null; calls with no step have stepId null.
   */
  async byPhase(
    q: Queryable,
    w: CallWindow,
    template: string | undefined,
  ): Promise<Array<{ template: string | null; stepId: string | null } & CostTotals>> {
    const args: unknown[] = [w.from, w.to];
    let filter = "";
    if (template) {
      args.push(template);
      filter = "AND r.template = $3";
    }
    const r = await q.query<TotalsRow & { template: string | null; step_id: string | null }>(
      `SELECT r.template, c.step_id, ${TOTALS}
       FROM llm_calls c LEFT JOIN pipeline_runs r ON r.id = c.run_id
       WHERE c.at >= $1 AND c.at < $2 ${filter}
       GROUP BY r.template, c.step_id
       ORDER BY r.template NULLS LAST, c.step_id NULLS LAST`,
      args,
    );
    return r.rows.map((row) => ({ template: row.template, stepId: row.step_id, ...totals(row) }));
  },

  /** By provider and model, most expensive first. */
  async byModel(
    q: Queryable,
    w: CallWindow,
  ): Promise<Array<{ provider: string; model: string } & CostTotals>> {
    const r = await q.query<TotalsRow & { provider: string; model: string }>(
      `SELECT c.provider, c.model, ${TOTALS} FROM llm_calls c WHERE c.at >= $1 AND c.at < $2
       GROUP BY c.provider, c.model ORDER BY sum(c.cost_usd) DESC, c.provider, c.model`,
      [w.from, w.to],
    );
    return r.rows.map((row) => ({ provider: row.provider, model: row.model, ...totals(row) }));
  },

  /** Time buckets (UTC hour or day) that have calls, oldest first. */
  async history(
    q: Queryable,
    w: CallWindow,
    bucket: CostBucket,
  ): Promise<Array<{ start: string } & CostTotals>> {
    const r = await q.query<TotalsRow & { bucket: Date }>(
      `SELECT (date_trunc($3, c.at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS bucket, ${TOTALS}
       FROM llm_calls c WHERE c.at >= $1 AND c.at < $2
       GROUP BY 1 ORDER BY 1`,
      [w.from, w.to, bucket],
    );
    return r.rows.map((row) => ({ start: row.bucket.toISOString(), ...totals(row) }));
  },

  /** Calls, errors, tokens, latency and time to first token of every call in the window. */
  async usage(q: Queryable, w: CallWindow): Promise<LlmUsage> {
    const r = await q.query<UsageRow>(`SELECT ${USAGE} FROM llm_calls c WHERE c.at >= $1 AND c.at < $2`, [
      w.from,
      w.to,
    ]);
    return usage(r.rows[0] as UsageRow);
  },

  /** Failed calls by error type, most first (a call without a type counts as `other`). */
  async errorsByType(
    q: Queryable,
    w: CallWindow,
  ): Promise<Array<{ errorType: LlmCallErrorType; calls: number }>> {
    const r = await q.query<{ error_type: LlmCallErrorType | null; calls: number }>(
      `SELECT c.error_type, count(*)::int AS calls FROM llm_calls c
       WHERE c.at >= $1 AND c.at < $2 AND c.status = 'error'
       GROUP BY c.error_type ORDER BY count(*) DESC, c.error_type`,
      [w.from, w.to],
    );
    return r.rows.map((e) => ({ errorType: e.error_type ?? "other", calls: e.calls }));
  },

  /** Usage by provider and model, most calls first. */
  async usageByModel(
    q: Queryable,
    w: CallWindow,
  ): Promise<Array<{ provider: string; model: string } & LlmUsage>> {
    const r = await q.query<UsageRow & { provider: string; model: string }>(
      `SELECT c.provider, c.model, ${USAGE} FROM llm_calls c WHERE c.at >= $1 AND c.at < $2
       GROUP BY c.provider, c.model ORDER BY count(*) DESC, c.provider, c.model`,
      [w.from, w.to],
    );
    return r.rows.map((m) => ({ provider: m.provider, model: m.model, ...usage(m) }));
  },
};
