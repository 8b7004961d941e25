import type { LlmCallView } from "../../contract/schemas/llm.ts";
import { decodeTimeKey, encodeTimeKey } from "./page-cursor.ts";
import type { Queryable, Tx } from "./pg-pool.ts";
import { countsOf, type PurgeBatch, purgeOne } from "./purge-batch.ts";

/** One call as stored: the columns of `llm_calls` the recorder fills (the agent and role come apart). */
export interface LlmCallRow {
  id: string;
  task_id: string | null;
  run_id: string | null;
  step_id: string | null;
  conversation_id: string | null;
  provider: string;
  model: string;
  source: string;
  input_tokens: number;
  output_tokens: number;
  tokens_counted: boolean;
  cost_usd: number;
  priced: boolean;
  latency_ms: number;
  ttft_ms: number | null;
  status: "ok" | "error";
  error_type: string | null;
  prompt: unknown;
  response: string | null;
}

/** What a reported call says it was made for: checked against what the reporting agent held. */
export interface LlmCallContext {
  /** The call's index in its batch. */
  idx: number;
  task_id: string | null;
  run_id: string | null;
  step_id: string | null;
  conversation_id: string | null;
}

/**
 * The `llm_calls` table (its one writer): the calls agents' LLM clients reported, with their tokens,
 * cost, latency and outcome. The aggregate reads of costs and usage, and the export's pages, have
 * stores of their own (cost-reads-store.ts, training-export-store.ts).
 */
export const llmCallsStore = {
  /**
   * Inserts a batch in one statement (every row or none); a row whose id is already stored is
   * skipped. Answers the ids inserted now.
   */
  async insert(q: Queryable, agent: { id: string; role: string }, rows: LlmCallRow[]): Promise<Set<string>> {
    const inserted = await q.query<{ id: string }>(
      `INSERT INTO llm_calls (id, agent_id, role, task_id, run_id, step_id, conversation_id, provider, model,
         source, input_tokens, output_tokens, tokens_counted, cost_usd, priced, latency_ms, ttft_ms, status,
         error_type, prompt, response)
       SELECT r.id, $2, $3, r.task_id, r.run_id, r.step_id,
         -- A conversation that is not the run's is left out rather than refuse the call: the call
         -- happened and its cost must count (the SDK checks only that the id looks like one).
         CASE WHEN EXISTS (SELECT 1 FROM conversations c WHERE c.id = r.conversation_id AND c.run_id = r.run_id)
              THEN r.conversation_id END,
         r.provider, r.model,
         r.source, r.input_tokens, r.output_tokens, r.tokens_counted, r.cost_usd, r.priced, r.latency_ms,
         r.ttft_ms, r.status, r.error_type, NULLIF(r.prompt, 'null'::jsonb), r.response
       FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, task_id uuid, run_id uuid, step_id text,
         conversation_id uuid, provider text, model text, source text, input_tokens integer,
         output_tokens integer, tokens_counted boolean, cost_usd numeric, priced boolean, latency_ms integer,
         ttft_ms integer, status text, error_type text, prompt jsonb, response text)
       ON CONFLICT (id) DO NOTHING
       RETURNING id`,
      [JSON.stringify(rows), agent.id, agent.role],
    );
    return new Set(inserted.rows.map((r) => r.id));
  },

  /** The role of the agent a call is recorded for (copied onto each row); null when no such agent. */
  async agentRole(q: Queryable, agentId: string): Promise<string | null> {
    const r = await q.query<{ role: string }>("SELECT role FROM agents WHERE id = $1", [agentId]);
    return r.rows[0]?.role ?? null;
  },

  /**
   * The first context (by index) the agent may not name: a task it neither holds nor held, or a
   * run and step that its task is not. Null when every context is the agent's own.
   */
  async firstForeignContext(q: Queryable, agentId: string, refs: LlmCallContext[]): Promise<number | null> {
    const r = await q.query<{ idx: number }>(
      `SELECT r.idx FROM jsonb_to_recordset($1::jsonb)
         AS r(idx integer, task_id uuid, run_id uuid, step_id text, conversation_id uuid)
       WHERE NOT (
         r.task_id IS NOT NULL
         AND (EXISTS (SELECT 1 FROM tasks t WHERE t.id = r.task_id AND t.lease_agent_id = $2)
              OR EXISTS (SELECT 1 FROM task_attempts a WHERE a.task_id = r.task_id AND a.agent_id = $2))
         AND (r.run_id IS NULL OR EXISTS (
               SELECT 1 FROM pipeline_steps s WHERE s.run_id = r.run_id AND s.task_id = r.task_id
               AND (r.step_id IS NULL OR s.step_id = r.step_id)))
)
       ORDER BY r.idx LIMIT 1`,
      [JSON.stringify(refs), agentId],
    );
    return r.rows[0]?.idx ?? null;
  },

  /** What a run's recorded calls cost so far, in USD. */
  async runCostUsd(q: Queryable, runId: string): Promise<number> {
    const r = await q.query<{ usd: string }>(
      "SELECT coalesce(sum(cost_usd), 0)::text AS usd FROM llm_calls WHERE run_id = $1",
      [runId],
    );
    return Number(r.rows[0]?.usd ?? 0);
  },

  /**
   * One page of a run's calls, newest first by (at, id) (`at` is set once, at insert), with the
   * run's total; null when the run does not exist and no call names it.
   */
  async ofRun(
    q: Queryable,
    runId: string,
    before: string | undefined,
    limit: number,
  ): Promise<{ calls: LlmCallView[]; total: number; nextBefore: string | null } | null> {
    const key = before === undefined ? null : decodeTimeKey(before);
    const [page, counted] = await Promise.all([
      q.query(
        `SELECT id, at, at::text AS at_key, agent_id, role, task_id, step_id, conversation_id, provider, model,
           source, status, error_type, input_tokens, output_tokens, tokens_counted, cost_usd::float8 AS cost_usd,
           priced, latency_ms, ttft_ms
         FROM llm_calls WHERE run_id = $1 AND ($2::timestamptz IS NULL OR (at, id) < ($2::timestamptz, $3::uuid))
         ORDER BY at DESC, id DESC LIMIT $4`,
        [runId, key?.at ?? null, key?.id ?? null, limit + 1],
      ),
      q.query<{ n: string; run: boolean }>(
        `SELECT (SELECT count(*) FROM llm_calls WHERE run_id = $1) AS n,
                EXISTS (SELECT 1 FROM pipeline_runs WHERE id = $1) AS run`,
        [runId],
      ),
    ]);
    const total = Number(counted.rows[0]?.n ?? 0);
    if (total === 0 && !counted.rows[0]?.run) return null;
    const rows = page.rows.slice(0, limit);
    const last = rows[rows.length - 1];
    return {
      calls: rows.map((r) => ({
        id: r.id,
        at: (r.at as Date).toISOString(),
        agentId: r.agent_id,
        role: r.role,
        taskId: r.task_id,
        stepId: r.step_id,
        conversationId: r.conversation_id,
        provider: r.provider,
        model: r.model,
        source: r.source,
        status: r.status,
        errorType: r.error_type,
        inputTokens: r.input_tokens,
        outputTokens: r.output_tokens,
        tokensCounted: r.tokens_counted,
        costUsd: r.cost_usd,
        priced: r.priced,
        latencyMs: r.latency_ms,
        ttftMs: r.ttft_ms,
      })),
      total,
      nextBefore: page.rows.length > limit && last ? encodeTimeKey({ at: last.at_key, id: last.id }) : null,
    };
  },

  /** Retention: LLM calls older than the cutoff, oldest first, at most `limit`. */
  purgeBefore(tx: Tx, cutoff: Date, limit: number): Promise<PurgeBatch> {
    return purgeOne(
      tx,
      "llm_calls",
      `WITH d AS (DELETE FROM llm_calls WHERE id IN
        (SELECT id FROM llm_calls WHERE at < $1 ORDER BY at LIMIT $2) RETURNING 1)
      ${countsOf({ d: "llm_calls" })}`,
      cutoff,
      limit,
    );
  },
};
