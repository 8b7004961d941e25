import type { ExportStatus } from "../../contract/schemas/export.ts";
import type { Queryable } from "./pg-pool.ts";

/** What the export selects: every field is optional (null: not filtered). */
export interface ExportPageFilter {
  from: Date | null;
  to: Date | null;
  role: string | null;
  model: string | null;
  status: ExportStatus | null;
  /** Only the calls of this pipeline run. */
  runId: string | null;
  minScore: number | null;
}

/** One stored call with its effective feedback score, as the export reads it. */
export interface ExportCallRow {
  id: string;
  at: Date;
  /** `at` at full (microsecond) precision, for the keyset cursor: a Date would round it to ms. */
  at_key: string;
  agent_id: string;
  role: string;
  provider: string;
  model: string;
  source: string;
  status: ExportStatus;
  error_type: string | null;
  input_tokens: number;
  output_tokens: number;
  tokens_counted: boolean;
  cost_usd: string;
  priced: boolean;
  latency_ms: number;
  ttft_ms: number | null;
  task_id: string | null;
  run_id: string | null;
  step_id: string | null;
  conversation_id: string | null;
  prompt: unknown;
  response: string | null;
  score: number | null;
  /** Rows the page's query found before the byte cap cut it. */
  found: string;
}

// The effective score: the call's own ratings, else its step's, else its run's (averages).
const SCORE = `(SELECT coalesce(
    (SELECT avg(f.score) FROM feedback f WHERE f.target_kind = 'llm_call' AND f.call_id = c.id),
    (SELECT avg(f.score) FROM feedback f
      WHERE f.target_kind = 'step' AND f.run_id = c.run_id AND f.step_id = c.step_id),
    (SELECT avg(f.score) FROM feedback f WHERE f.target_kind = 'run' AND f.run_id = c.run_id)
  )::float8 AS score)`;

/** The training-data export's reads of `llm_calls` with their `feedback` scores. */
export const trainingExportStore = {
  /**
   * One page in `(at, id)` keyset order after `after` (from the start when null): at most `size`
   * rows, cut short once their prompts and responses pass `maxBytes` (at least one row).
   */
  async page(
    q: Queryable,
    filter: ExportPageFilter,
    after: { at_key: string; id: string } | null,
    size: number,
    maxBytes: number,
  ): Promise<ExportCallRow[]> {
    const args: unknown[] = [];
    const where: string[] = [];
    const arg = (v: unknown) => {
      args.push(v);
      return `$${args.length}`;
    };
    if (after) where.push(`(c.at, c.id) > (${arg(after.at_key)}::timestamptz, ${arg(after.id)}::uuid)`);
    if (filter.from) where.push(`c.at >= ${arg(filter.from)}`);
    if (filter.to) where.push(`c.at < ${arg(filter.to)}`);
    if (filter.role) where.push(`c.role = ${arg(filter.role)}`);
    if (filter.model) where.push(`c.model = ${arg(filter.model)}`);
    if (filter.status) where.push(`c.status = ${arg(filter.status)}`);
    if (filter.runId) where.push(`c.run_id = ${arg(filter.runId)}::uuid`);
    if (filter.minScore !== null) where.push(`s.score >= ${arg(filter.minScore)}`);
    const limit = arg(size);
    const cap = arg(maxBytes);
    const r = await q.query<ExportCallRow>(
      `SELECT * FROM (
         SELECT p.*, sum(p.bytes) OVER (ORDER BY p.at, p.id) AS upto, count(*) OVER () AS found
         FROM (
           SELECT c.id, c.at, c.at::text AS at_key, c.agent_id, c.role, c.provider, c.model, c.source,
             c.status, c.error_type, c.input_tokens, c.output_tokens, c.tokens_counted, c.cost_usd, c.priced,
             c.latency_ms, c.ttft_ms, c.task_id, c.run_id, c.step_id, c.conversation_id, c.prompt,
             c.response, s.score,
             coalesce(octet_length(c.prompt::text), 0) + coalesce(octet_length(c.response), 0) AS bytes
           FROM llm_calls c CROSS JOIN LATERAL ${SCORE} s
           ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
           ORDER BY c.at, c.id
           LIMIT ${limit}
         ) p
       ) q
       WHERE q.upto - q.bytes < ${cap}
       ORDER BY q.at, q.id`,
      args,
    );
    return r.rows;
  },
};
