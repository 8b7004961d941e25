/** Pure encoders of training-export rows: JSON Lines, one streamed JSON array, or CSV (RFC 4180). */

import {
  EXPORT_CONTENT_TYPES,
  EXPORT_FORMATS,
  type ExportFormat,
  type ExportRecord,
} from "../../contract/schemas/export.ts";

export { EXPORT_FORMATS, type ExportFormat };

/** One recorded LLM call as a prompt/response pair with its metadata (the contract's ExportRecord). */
export type ExportRow = ExportRecord;

/** The CSV columns, in order: every field of ExportRow. */
export const CSV_COLUMNS: ReadonlyArray<keyof ExportRow> = [
  "id",
  "at",
  "agentId",
  "role",
  "provider",
  "model",
  "source",
  "status",
  "errorType",
  "inputTokens",
  "outputTokens",
  "tokensCounted",
  "costUsd",
  "priced",
  "latencyMs",
  "ttftMs",
  "taskId",
  "runId",
  "stepId",
  "conversationId",
  "feedbackScore",
  "prompt",
  "response",
];

export const CONTENT_TYPES = EXPORT_CONTENT_TYPES;

const CRLF = "\r\n";

/** One CSV cell: null is empty; the prompt (any JSON) is its JSON text; quoted when it must be. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text =
    typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export const csvHeader = (): string => CSV_COLUMNS.join(",") + CRLF;
export const csvRecord = (row: ExportRow): string => CSV_COLUMNS.map((c) => csvCell(row[c])).join(",") + CRLF;
export const jsonlRecord = (row: ExportRow): string => `${JSON.stringify(row)}\n`;

/**
 * Encodes a stream of row pages as one string per page (plus the opening and closing text), so the
 * caller holds one page at a time. An empty export is an empty body (jsonl), `[]` (json), or the
 * header line alone (csv).
 */
export async function* encodePages(
  format: ExportFormat,
  pages: AsyncIterable<ExportRow[]>,
): AsyncGenerator<string> {
  let first = true;
  for await (const page of pages) {
    if (page.length === 0) continue;
    if (format === "jsonl") {
      yield page.map(jsonlRecord).join("");
    } else if (format === "csv") {
      yield (first ? csvHeader() : "") + page.map(csvRecord).join("");
    } else {
      yield (first ? "[\n" : ",\n") + page.map((r) => JSON.stringify(r)).join(",\n");
    }
    first = false;
  }
  if (format === "json") yield first ? "[]\n" : "\n]\n";
  else if (format === "csv" && first) yield csvHeader();
}
