import type { TSchema } from "typebox";
import { ErrorBody } from "../contract/errors.ts";
import { type ErrorStatus, errorStatuses, type RouteContract } from "../contract/route.ts";

type Part<R, K extends string> = R extends { [P in K]: infer S extends TSchema } ? S : undefined;

/** The Fastify schema of a route: its contract's input and answers, plus every error it can give. */
export interface ContractSchema<R extends RouteContract> {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  security: Array<Record<string, string[]>>;
  params: Part<R, "params">;
  querystring: Part<R, "querystring">;
  body: Part<R, "body">;
  /** Checked by the type provider: a handler must return what its route's schema for the status says. */
  response: Omit<Record<ErrorStatus, typeof ErrorBody>, keyof R["replies"]> & R["replies"];
}

const STATUS_TEXT: Record<number, string> = { 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content" };

/** The route's own answers with a description each, and the media type of one that is not JSON. */
function successes(route: RouteContract): Record<number, unknown> {
  const out: Record<number, unknown> = {};
  for (const [status, schema] of Object.entries(route.replies)) {
    const description =
      (schema as { description?: string }).description ?? STATUS_TEXT[Number(status)] ?? "OK";
    out[Number(status)] = route.produces
      ? { description, content: { [route.produces]: { schema } } }
      : { ...schema, description };
  }
  return out;
}

/**
 * `app.route({ ...routeOptions(CONTRACT), handler })`: method, url, access config and schema all
 * come from the contract, so a route cannot drift from what the OpenAPI document says about it.
 */
export function routeOptions<const R extends RouteContract>(route: R) {
  const errors: Record<number, TSchema> = {};
  for (const status of errorStatuses(route)) errors[status] = ErrorBody;
  const schema = {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [route.tag],
    // Public routes (health, metrics) need no token: the document says so per operation.
    security: route.auth === "public" ? [] : [{ bearer: [] }],
    ...(route.params ? { params: route.params } : {}),
    ...(route.querystring ? { querystring: route.querystring } : {}),
    ...(route.body ? { body: route.body } : {}),
    response: { ...errors, ...successes(route) },
  } as unknown as ContractSchema<R>;
  return {
    method: route.method,
    url: route.url,
    config: {
      auth: route.auth,
      ...(route.rateLimit ? { rateLimit: route.rateLimit } : {}),
      ...(route.intake ? { intake: true } : {}),
      ...(route.heavy ? { heavy: true } : {}),
    },
    schema,
  };
}
