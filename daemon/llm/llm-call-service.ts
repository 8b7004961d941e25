import type { LlmCallRecord } from "../../contract/schemas/llm.ts";
import { OverseerError } from "../errors/overseer-error.ts";
import type { EventBus } from "../events/event-bus.ts";
import type { Db } from "../store/pg-pool.ts";
import { costOf, type PriceTable } from "./pricing.ts";

/** One reported call: the record the SDK's recorder sends (one type for both sides of the wire). */
export type LlmCallInput = LlmCallRecord;

/** Who reports: an agent (its own calls, for tasks it holds or held) or an operator naming the agent. */
export interface LlmCaller {
  agentId?: string;
}

const bad = (index: number, field: string, message: string) =>
  new OverseerError("OVS_ERR_VALIDATION", `calls[${index}].${field}: ${message}`, { index, field });

/**
 * Records LLM calls in Postgres (table llm_calls) and emits one `llm.call` event per new row, which
 * the metrics sink turns into token, cost, latency and error series. A batch is all or nothing.
 */
export class LlmCallService {
  constructor(
    private readonly db: Db,
    private readonly bus: EventBus,
    private readonly prices: PriceTable,
  ) {}

  async record(
    batch: { agentId?: string; calls: LlmCallInput[] },
    caller: LlmCaller,
  ): Promise<{ recorded: number; duplicates: number }> {
    const { calls } = batch;
    calls.forEach((c, i) => {
      if (c.status === "ok" && c.errorType !== undefined) {
        throw bad(i, "errorType", "only a call with status error has an errorType");
      }
      if (c.stepId !== undefined && c.runId === undefined) throw bad(i, "stepId", "needs runId");
    });

    const agentId = caller.agentId ?? batch.agentId;
    if (caller.agentId && batch.agentId && batch.agentId !== caller.agentId) {
      throw new OverseerError("OVS_ERR_FORBIDDEN", "an agent records only its own calls");
    }
    if (!agentId) {
      throw new OverseerError(
        "OVS_ERR_VALIDATION",
        "an operator must name the agent (agentId) that made the calls",
        {
          field: "agentId",
        },
      );
    }
    const agent = await this.db.query<{ role: string }>("SELECT role FROM agents WHERE id = $1", [agentId]);
    const role = agent.rows[0]?.role;
    if (role === undefined) throw new OverseerError("OVS_ERR_AGENT_NOT_FOUND", `no agent ${agentId}`);
    if (caller.agentId) await this.checkContext(caller.agentId, calls);

    // A call repeated inside one batch is a duplicate like one recorded before.
    const seen = new Set<string>();
    const rows = [];
    for (const c of calls) {
      const id = c.clientCallId.toLowerCase();
      if (seen.has(id)) continue;
      seen.add(id);
      const { costUsd, priced } = costOf(this.prices, {
        model: c.model,
        source: c.source,
        inputTokens: c.usage.inputTokens,
        outputTokens: c.usage.outputTokens,
      });
      rows.push({
        id,
        task_id: c.taskId ?? null,
        run_id: c.runId ?? null,
        step_id: c.stepId ?? null,
        conversation_id: c.conversationId ?? null,
        provider: c.provider,
        model: c.model,
        source: c.source,
        input_tokens: c.usage.inputTokens,
        output_tokens: c.usage.outputTokens,
        tokens_counted: c.usage.counted,
        cost_usd: costUsd,
        priced,
        latency_ms: c.latencyMs,
        ttft_ms: c.timeToFirstTokenMs ?? null,
        status: c.status,
        error_type: c.status === "error" ? (c.errorType ?? "other") : null,
        prompt: c.prompt ?? null,
        response: c.response ?? null,
      });
    }
    // One statement: every row or none.
    const inserted = await this.db.query<{ id: string }>(
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
      [JSON.stringify(rows), agentId, role],
    );
    const fresh = new Set(inserted.rows.map((r) => r.id));
    for (const r of rows) {
      if (!fresh.has(r.id)) continue;
      this.bus.emit("llm.call", {
        callId: r.id,
        agentId,
        role,
        provider: r.provider,
        model: r.model,
        source: r.source,
        status: r.status,
        errorType: r.error_type,
        inputTokens: r.input_tokens,
        outputTokens: r.output_tokens,
        costUsd: r.cost_usd,
        priced: r.priced,
        latencyMs: r.latency_ms,
        timeToFirstTokenMs: r.ttft_ms,
        taskId: r.task_id,
        runId: r.run_id,
      });
    }
    return { recorded: fresh.size, duplicates: calls.length - fresh.size };
  }

  /**
   * Agents act only on themselves: a call may name a task only if the agent holds or held it (a
   * lease now, or an attempt); a run and step only through such a task of that run's step. A
   * conversation that is not the run's is dropped from the record (see the insert), not refused.
   * A call naming none of them is not checked.
   */
  private async checkContext(agentId: string, calls: LlmCallInput[]): Promise<void> {
    const refs = calls
      .map((c, idx) => ({
        idx,
        task_id: c.taskId ?? null,
        run_id: c.runId ?? null,
        step_id: c.stepId ?? null,
        conversation_id: c.conversationId ?? null,
      }))
      .filter((r) => r.task_id || r.run_id || r.conversation_id);
    if (refs.length === 0) return;
    const r = await this.db.query<{ idx: number }>(
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
    const idx = r.rows[0]?.idx;
    if (idx === undefined) return;
    const c = calls[idx] as LlmCallInput;
    const what = !c.taskId
      ? "names a run or conversation without the task (taskId) it was made for"
      : `names task ${c.taskId}${c.runId ? ` (run ${c.runId}${c.stepId ? `, step ${c.stepId}` : ""})` : ""}, which agent ${agentId} neither holds nor held`;
    throw new OverseerError("OVS_ERR_FORBIDDEN", `calls[${idx}] ${what}`, { index: idx });
  }
}
