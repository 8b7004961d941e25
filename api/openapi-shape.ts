import { ErrorBody, errorDescription } from "../contract/errors.ts";

type Doc = {
  components?: { schemas?: Record<string, unknown>; responses?: Record<string, unknown> };
  paths?: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
};

/**
 * Gives the generated document one definition of the error body and one response per error status
 * (`components.responses.Error404`, …), each naming the codes it carries, and points every
 * operation's error answers at them: the answers are the same everywhere, so they are written once.
 */
export function shapeOpenApi<T>(document: T): T {
  const doc = document as Doc;
  doc.components ??= {};
  const components = doc.components;
  components.schemas = { ...components.schemas, ErrorBody: JSON.parse(JSON.stringify(ErrorBody)) };
  const responses: Record<string, unknown> = { ...components.responses };
  for (const operations of Object.values(doc.paths ?? {})) {
    for (const operation of Object.values(operations)) {
      for (const status of Object.keys(operation.responses ?? {})) {
        if (Number(status) < 400 || !isErrorBody(operation.responses?.[status])) continue;
        const name = `Error${status}`;
        responses[name] ??= {
          description: errorDescription(Number(status)),
          content: { "application/json": { schema: { $ref: "#/components/schemas/ErrorBody" } } },
        };
        (operation.responses as Record<string, unknown>)[status] = { $ref: `#/components/responses/${name}` };
      }
    }
  }
  components.responses = responses;
  return document;
}

/** Whether a generated response carries the error body (a route's own 503 body, as /readyz's, stays). */
function isErrorBody(response: unknown): boolean {
  const schema = (response as { content?: Record<string, { schema?: { properties?: object } }> })?.content?.[
    "application/json"
  ]?.schema;
  return schema?.properties !== undefined && "error" in schema.properties;
}
