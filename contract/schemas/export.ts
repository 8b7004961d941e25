import { type Static, type TSchema, Type } from "typebox";
import { PositiveIntText } from "./common.ts";

/** The training-data export of recorded LLM calls (`GET /api/llm/export`): its query and its records. */

export const EXPORT_FORMATS = ["jsonl", "json", "csv"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export const EXPORT_STATUSES = ["ok", "error"] as const;
export type ExportStatus = (typeof EXPORT_STATUSES)[number];

/** The media type of each format; jsonl (the default) is the one the contract names. */
export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  jsonl: "application/x-ndjson; charset=utf-8",
  json: "application/json; charset=utf-8",
  csv: "text/csv; charset=utf-8",
};

const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));

// Unknown parameters are refused here (unlike elsewhere): a misspelt filter would otherwise export
// everything, prompts included.
export const ExportQuerystring = Type.Object(
  {
    format: Type.Optional(literals(EXPORT_FORMATS)),
    from: Type.Optional(Type.String({ format: "date-time", description: "inclusive, by `at`" })),
    to: Type.Optional(Type.String({ format: "date-time", description: "exclusive, by `at`" })),
    role: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$" })),
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    status: Type.Optional(literals(EXPORT_STATUSES)),
    runId: Type.Optional(
      Type.String({
        pattern: "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        description: "only the calls of this pipeline run",
      }),
    ),
    minScore: Type.Optional(
      Type.String({
        pattern: "^[1-5](\\.[0-9]{1,3})?$",
        description:
          "1 to 5: calls whose effective feedback score is at least this; unrated calls are left out",
      }),
    ),
    redact: Type.Optional(literals(["true", "false"])),
    limit: Type.Optional(PositiveIntText),
  },
  { additionalProperties: false },
);

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/**
 * One recorded LLM call as a prompt/response pair with its metadata: a line of the jsonl export, an
 * element of the json one, a row of the csv one (columns in this order; the prompt as JSON text).
 */
export const ExportRecord = Type.Object({
  id: Type.String(),
  at: Type.String({ format: "date-time" }),
  agentId: Type.String(),
  role: Type.String(),
  provider: Type.String(),
  model: Type.String(),
  source: Type.String(),
  status: Type.Enum(EXPORT_STATUSES),
  errorType: Nullable(Type.String()),
  inputTokens: Type.Integer(),
  outputTokens: Type.Integer(),
  tokensCounted: Type.Boolean(),
  costUsd: Type.Number(),
  priced: Type.Boolean(),
  latencyMs: Type.Integer(),
  ttftMs: Nullable(Type.Integer()),
  taskId: Nullable(Type.String()),
  runId: Nullable(Type.String()),
  stepId: Nullable(Type.String()),
  conversationId: Nullable(Type.String()),
  feedbackScore: Nullable(Type.Number({ description: "the call's, else its step's, else its run's mean" })),
  prompt: Type.Unknown({ description: "the request as recorded (redacted unless redact=false)" }),
  response: Nullable(Type.String()),
});
export type ExportRecord = Static<typeof ExportRecord>;

/** The body of the export: streamed text in the format asked for. */
export const ExportText = Type.String({
  description:
    "The export, streamed: one recorded call per line (an ExportRecord: its metadata, feedback score, prompt and response)",
});
