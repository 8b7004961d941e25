import {
  EXPORT_FORMATS,
  EXPORT_STATUSES,
  type ExportFormat,
  type ExportStatus,
} from "../../contract/schemas/export.ts";
import { OverseerError } from "../errors/overseer-error.ts";
import type { Queryable } from "../store/pg-pool.ts";
import {
  type ExportCallRow,
  type ExportPageFilter,
  trainingExportStore,
} from "../store/training-export-store.ts";
import { type ExportRow, encodePages } from "./export-format.ts";
import { redactJson, redactText } from "./redaction.ts";

export { EXPORT_STATUSES };
export const EXPORT_PAGE_SIZE = 1000;
/**
 * A page also ends once its prompts and responses add up to this many bytes (at least one row per
 * page): rows of a megabyte each must not make a 1,000-row page a gigabyte.
 */
export const EXPORT_PAGE_BYTES = 8 * 1024 * 1024;

/** The export's query as it arrives (query-string text); every field is optional. */
export interface ExportQuery {
  format?: string;
  from?: string;
  to?: string;
  role?: string;
  model?: string;
  status?: string;
  runId?: string;
  minScore?: string;
  redact?: string;
  limit?: string;
}

export interface ExportFilter extends ExportPageFilter {
  format: ExportFormat;
  redact: boolean;
  limit: number | null;
}

const bad = (message: string, field: string) => new OverseerError("OVS_ERR_VALIDATION", message, { field });

function date(text: string | undefined, field: string): Date | null {
  if (text === undefined) return null;
  const d = new Date(text);
  // With an offset: a time without one would be read in the daemon's own time zone.
  if (
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(text) ||
    Number.isNaN(d.getTime())
  ) {
    throw bad(`${field} must be an ISO 8601 date-time with an offset, such as 2026-11-01T00:00:00Z`, field);
  }
  return d;
}

/** Checks and resolves the query; every problem is a 400 naming the field. Defaults: jsonl, redacted. */
export function resolveExportQuery(q: ExportQuery): ExportFilter {
  const format = (q.format ?? "jsonl") as ExportFormat;
  if (!EXPORT_FORMATS.includes(format)) {
    throw bad(`format must be one of ${EXPORT_FORMATS.join(", ")}`, "format");
  }
  const from = date(q.from, "from");
  const to = date(q.to, "to");
  if (from && to && from.getTime() >= to.getTime()) throw bad("from must be before to", "from");
  const status = (q.status ?? null) as ExportStatus | null;
  if (status !== null && !EXPORT_STATUSES.includes(status)) {
    throw bad(`status must be one of ${EXPORT_STATUSES.join(", ")}`, "status");
  }
  let minScore: number | null = null;
  if (q.minScore !== undefined) {
    minScore = /^\d(\.\d{1,3})?$/.test(q.minScore) ? Number(q.minScore) : Number.NaN;
    if (!(minScore >= 1 && minScore <= 5)) throw bad("minScore must be a number from 1 to 5", "minScore");
  }
  if (q.redact !== undefined && q.redact !== "true" && q.redact !== "false") {
    throw bad("redact must be true or false", "redact");
  }
  let limit: number | null = null;
  if (q.limit !== undefined) {
    limit = /^[1-9]\d{0,8}$/.test(q.limit) ? Number(q.limit) : Number.NaN;
    if (Number.isNaN(limit)) throw bad("limit must be an integer from 1 to 999999999", "limit");
  }
  if (q.role !== undefined && q.role.length === 0) throw bad("role must not be empty", "role");
  if (q.model !== undefined && q.model.length === 0) throw bad("model must not be empty", "model");
  if (
    q.runId !== undefined &&
    !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(q.runId)
  ) {
    throw bad("runId must be a pipeline run's id (a uuid)", "runId");
  }
  return {
    format,
    from,
    to,
    role: q.role ?? null,
    model: q.model ?? null,
    status,
    runId: q.runId ?? null,
    minScore,
    redact: q.redact !== "false",
    limit,
  };
}

function toExportRow(r: ExportCallRow, redact: boolean): ExportRow {
  return {
    id: r.id,
    at: r.at.toISOString(),
    agentId: r.agent_id,
    role: r.role,
    provider: r.provider,
    model: r.model,
    source: r.source,
    status: r.status,
    errorType: r.error_type,
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
    tokensCounted: r.tokens_counted,
    costUsd: Number(r.cost_usd),
    priced: r.priced,
    latencyMs: r.latency_ms,
    ttftMs: r.ttft_ms,
    taskId: r.task_id,
    runId: r.run_id,
    stepId: r.step_id,
    conversationId: r.conversation_id,
    feedbackScore: r.score,
    prompt: redact ? redactJson(r.prompt) : r.prompt,
    response: r.response !== null && redact ? redactText(r.response) : r.response,
  };
}

/**
 * Recorded LLM calls as training data. Reads `llm_calls` in pages of `(at, id)` keyset order, each
 * page its own short query (no transaction held for the whole export, no OFFSET rescans), so memory
 * stays at about two pages however many rows match: the one being sent and the next, fetched
 * meanwhile. Rows stored during the export after its cursor are included; that is the price of not
 * holding a snapshot open for minutes.
 */
export class TrainingExport {
  constructor(
    private readonly db: Queryable,
    private readonly pageSize = EXPORT_PAGE_SIZE,
    private readonly pageBytes = EXPORT_PAGE_BYTES,
  ) {}

  /** The encoded export as string chunks (one per page). Stops querying once `signal` aborts. */
  chunks(filter: ExportFilter, signal?: AbortSignal): AsyncGenerator<string> {
    return encodePages(filter.format, this.pages(filter, signal));
  }

  /** Pages of rows in (at, id) order; the next page is fetched while the caller handles this one. */
  async *pages(filter: ExportFilter, signal?: AbortSignal): AsyncGenerator<ExportRow[]> {
    let remaining = filter.limit ?? Number.POSITIVE_INFINITY;
    let next: Promise<ExportCallRow[]> | null = this.page(filter, null, Math.min(this.pageSize, remaining));
    try {
      while (next) {
        const rows = await next;
        next = null;
        remaining -= rows.length;
        const last = rows.at(-1);
        // More may follow when the query hit its row limit, or the byte cap cut the page short.
        const found = Number(last?.found ?? 0);
        const full = found === this.pageSize || rows.length < found;
        if (last && full && remaining > 0 && !signal?.aborted) {
          next = this.page(filter, last, Math.min(this.pageSize, remaining));
        }
        if (signal?.aborted) return;
        yield rows.map((r) => toExportRow(r, filter.redact));
      }
    } finally {
      // Abandoned early: the prefetched page is dropped, and its failure must not go unhandled.
      next?.catch(() => {});
    }
  }

  private page(filter: ExportFilter, after: ExportCallRow | null, size: number): Promise<ExportCallRow[]> {
    return trainingExportStore.page(this.db, filter, after, size, this.pageBytes);
  }
}
