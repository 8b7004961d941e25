import type { LlmCallRecord, LlmCallsReply, RunLlmCallsReply } from "../../contract/schemas/llm.ts";
import { OverseerError } from "../errors/overseer-error.ts";
import type { EventBus } from "../events/event-bus.ts";
import { type LlmCallContext, type LlmCallRow, llmCallsStore } from "../store/llm-calls-store.ts";
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

  /** A pipeline run's calls, newest first, one page (docs/paging.md); 404 for an unknown run. */
  async ofRun(runId: string, before: string | undefined, limit: number): Promise<RunLlmCallsReply> {
    const page = await llmCallsStore.ofRun(this.db, runId, before, limit);
    if (!page) throw new OverseerError("OVS_ERR_RUN_NOT_FOUND", `no run ${runId}`);
    return { runId, ...page };
  }

  async record(
    batch: { agentId?: string; calls: LlmCallInput[] },
    caller: LlmCaller,
  ): Promise<LlmCallsReply> {
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
    const role = await llmCallsStore.agentRole(this.db, agentId);
    if (role === null) throw new OverseerError("OVS_ERR_AGENT_NOT_FOUND", `no agent ${agentId}`);
    if (caller.agentId) await this.checkContext(caller.agentId, calls);

    // A call repeated inside one batch is a duplicate like one recorded before.
    const seen = new Set<string>();
    const rows: LlmCallRow[] = [];
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
    const fresh = await llmCallsStore.insert(this.db, { id: agentId, role }, rows);
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
    const refs: LlmCallContext[] = calls
      .map((c, idx) => ({
        idx,
        task_id: c.taskId ?? null,
        run_id: c.runId ?? null,
        step_id: c.stepId ?? null,
        conversation_id: c.conversationId ?? null,
      }))
      .filter((r) => r.task_id || r.run_id || r.conversation_id);
    if (refs.length === 0) return;
    const idx = await llmCallsStore.firstForeignContext(this.db, agentId, refs);
    if (idx === null) return;
    const c = calls[idx] as LlmCallInput;
    const what = !c.taskId
      ? "names a run or conversation without the task (taskId) it was made for"
      : `names task ${c.taskId}${c.runId ? ` (run ${c.runId}${c.stepId ? `, step ${c.stepId}` : ""})` : ""}, which agent ${agentId} neither holds nor held`;
    throw new OverseerError("OVS_ERR_FORBIDDEN", `calls[${idx}] ${what}`, { index: idx });
  }
}
