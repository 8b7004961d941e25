import { Readable } from "node:stream";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { EXPORT_ROUTES as R } from "../../contract/routes/export.ts";
import { EXPORT_CONTENT_TYPES, ExportQuerystring } from "../../contract/schemas/export.ts";
import { OverseerError } from "../../daemon/errors/overseer-error.ts";
import { type ExportQuery, resolveExportQuery } from "../../daemon/llm/training-export.ts";
import type { ApiDeps } from "../api-deps.ts";
import { routeOptions } from "../route-options.ts";

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
    app.route({
      ...routeOptions(R.trainingData),
      attachValidation: true,
      handler: async (request, reply) => {
        if (request.validationError)
          throw queryError(request.validationError as ValidationError, request.query);
        const filter = resolveExportQuery(request.query);
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
        return (
          reply
            .header("content-type", EXPORT_CONTENT_TYPES[filter.format])
            .header("content-disposition", `attachment; filename="llm-calls-${stamp}.${filter.format}"`)
            .header("cache-control", "no-store")
            // The schema describes the document as one string; it goes out streamed, page by page.
            .send(Readable.from(body, { objectMode: false, highWaterMark: 64 * 1024 }) as unknown as string)
        );
      },
    });
  };
}
