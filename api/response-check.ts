import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import type { FastifyInstance } from "fastify";
import { OverseerError } from "../daemon/errors/overseer-error.ts";

/**
 * OVERSEER_VALIDATE_RESPONSES: every JSON answer is checked against its route's response schema
 * before it is sent. Strictly: an object schema that does not say otherwise admits no undeclared
 * field, because the serialiser would silently drop it and the contract would be hiding data.
 * The answer is round-tripped through JSON first, so it is checked as the wire would carry it.
 */
export function installResponseCheck(app: FastifyInstance): void {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats.default(ajv);
  // Schemas by route and status, compiled on the first answer that needs one: compiling them all at
  // start would cost every test daemon a second for routes most tests never call.
  const schemas = new Map<string, Record<string, unknown>>();
  const compiled = new Map<string, ValidateFunction | null>();
  app.addHook("onRoute", (route) => {
    const responses = (route.schema as { response?: Record<string, unknown> } | undefined)?.response;
    if (!responses) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) schemas.set(`${method} ${route.url}`, responses);
  });
  // By schema object too: every route's error answers share one schema, compiled once.
  const bySchema = new WeakMap<object, ValidateFunction>();
  const checkOf = (route: string, status: string): ValidateFunction | null => {
    const key = `${route} ${status}`;
    let check = compiled.get(key);
    if (check === undefined) {
      const json = jsonSchemaOf(schemas.get(route)?.[status]);
      check = json ? (bySchema.get(json) ?? ajv.compile(closed(json) as object)) : null;
      if (json && check) bySchema.set(json, check);
      compiled.set(key, check);
    }
    return check;
  };
  app.addHook("preSerialization", async (request, reply, payload) => {
    const check = checkOf(`${request.method} ${request.routeOptions.url}`, String(reply.statusCode));
    if (!check || payload === undefined) return payload;
    const wire: unknown = JSON.parse(JSON.stringify(payload));
    if (!check(wire)) {
      throw new OverseerError(
        "OVS_ERR_INTERNAL",
        `the ${reply.statusCode} answer of ${request.method} ${request.routeOptions.url} does not match its contract: ${ajv.errorsText(check.errors)}`,
      );
    }
    return payload;
  });
}

/** The JSON schema of a response entry (a plain schema, or `{description, content: {type: {schema}}}`). */
function jsonSchemaOf(entry: unknown): object | undefined {
  if (entry === undefined) return undefined;
  const e = entry as { content?: Record<string, { schema?: object }> };
  if (e?.content) return e.content["application/json"]?.schema;
  return entry as object;
}

/** A copy of `schema` in which every object schema without an `additionalProperties` rule admits no other field. */
export function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== "object") return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    out[k] =
      k === "properties" || k === "patternProperties" || k === "$defs" ? mapValues(v, closed) : closed(v);
  }
  if (out.type === "object" && out.properties && !("additionalProperties" in out) && !out.patternProperties) {
    out.additionalProperties = false;
  }
  return out;
}

function mapValues(o: unknown, f: (v: unknown) => unknown): unknown {
  if (o === null || typeof o !== "object") return o;
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}
