import { Readable } from "node:stream";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { ErrorBody } from "../../contract/errors.ts";
import { PositiveIntText } from "../../contract/schemas/pipelines.ts";
import { OverseerError } from "../../daemon/errors/overseer-error.ts";
import { CONTENT_TYPES, EXPORT_FORMATS } from "../../daemon/llm/export-format.ts";
import { EXPORT_STATUSES, type ExportQuery, resolveExportQuery } from "../../daemon/llm/training-export.ts";
import type { ApiDeps } from "../api-deps.ts";

const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));

// Unknown parameters are refused here (unlike elsewhere): a misspelt filter would otherwise export
// everything, prompts included.
const ExportQuerystring = Type.Object(
  {
    format: Type.Optional(literals(EXPORT_FORMATS)),
    from: Type.Optional(Type.String({ format: "date-time", description: "inclusive, by `at`" })),
    to: Type.Optional(Type.String({ format: "date-time", description: "exclusive, by `at`" })),
    role: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$" })),
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    status: Type.Optional(literals(EXPORT_STATUSES)),
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

type ValidationError = Error & {
  validation: Array<{ instancePath?: string; params?: { additionalProperty?: string }; message?: string }>;
};

/** A schema failure as a 400 that says what is accepted (the resolver's messages), naming the field. */
function queryError(error: ValidationError, query: unknown): OverseerError {
  const first = error.validation[0];
  const unknown = first?.params?.additionalProperty;
  if (unknown) {
    const known = Object.keys(ExportQuerystring.properties).join(", ");
    return new OverseerError("OVS_ERR_VALIDATION", `unknown parameter ${unknown}; known: ${known}`, {
      field: unknown,
    });
  }
  try {
    resolveExportQuery(query as ExportQuery);
  } catch (clear) {
    if (clear instanceof OverseerError) return clear;
  }
  const field = (first?.instancePath ?? "").replace(/^\//, "");
  return new OverseerError("OVS_ERR_VALIDATION", `${field || "query"} ${first?.message ?? "is invalid"}`, {
    field: field || undefined,
  });
}

/** The training-data export of recorded LLM calls (operator: prompts and responses are sensitive). */
export function exportRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/llm/export",
      {
        config: { auth: "operator" },
        attachValidation: true,
        schema: {
          tags: ["llm calls"],
          querystring: ExportQuerystring,
          response: {
            200: Type.Unknown({ description: "the export, streamed: JSON Lines, a JSON array or CSV" }),
            400: ErrorBody,
            401: ErrorBody,
            403: ErrorBody,
          },
        },
      },
      async (request, reply) => {
        if (request.validationError)
          throw queryError(request.validationError as ValidationError, request.query);
        const filter = resolveExportQuery(request.query as ExportQuery);
        // Stop querying once the client is gone (the stream is also destroyed then, which ends the
        // generator at its next yield; the signal stops it before another page query).
        const abort = new AbortController();
        reply.raw.once("close", () => abort.abort());
        const chunks = deps.trainingExport.chunks(filter, abort.signal);
        // The first page is read before the headers go out, so a database failure is still an
        // ordinary error answer; later failures cut the body short (no final chunk).
        const first = await chunks.next();
        const body = (async function* () {
          if (!first.done) yield first.value;
          yield* chunks;
        })();
        const stamp = new Date().toISOString().replace(/[-:]|\.\d+/g, "");
        return reply
          .header("content-type", CONTENT_TYPES[filter.format])
          .header("content-disposition", `attachment; filename="llm-calls-${stamp}.${filter.format}"`)
          .header("cache-control", "no-store")
          .send(Readable.from(body, { objectMode: false, highWaterMark: 64 * 1024 }));
      },
    );
  };
}
