import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { ErrorBody } from "../../contract/errors.ts";
import { AnyJson, IdParams } from "../../contract/schemas/common.ts";
import {
  NonNegativeIntText,
  PositiveIntText,
  RunStateName,
  TemplateName,
} from "../../contract/schemas/pipelines.ts";
import type { ApiDeps } from "../api-deps.ts";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };
const Range = {
  template: Type.Optional(TemplateName),
  from: Type.Optional(Type.String({ format: "date-time" })),
  to: Type.Optional(Type.String({ format: "date-time" })),
};

/** History, details, statistics, step performance and the pending queue of pipeline runs (viewer). */
export function workflowRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    const w = deps.workflow;
    const tags = ["workflow"];
    const cfg = { config: { auth: "viewer" as const } };

    app.get(
      "/workflow/history",
      {
        ...cfg,
        schema: {
          tags,
          querystring: Type.Object({
            ...Range,
            state: Type.Optional(RunStateName),
            limit: Type.Optional(PositiveIntText),
            offset: Type.Optional(NonNegativeIntText),
          }),
          response: { 200: AnyJson, ...errors },
        },
      },
      async (request) => {
        const q = request.query;
        return w.history({
          ...q,
          limit: Math.min(500, Number(q.limit ?? 50)),
          offset: Number(q.offset ?? 0),
        });
      },
    );
    app.get(
      "/workflow/statistics",
      { ...cfg, schema: { tags, querystring: Type.Object(Range), response: { 200: AnyJson, ...errors } } },
      async (request) => w.statistics(request.query),
    );
    app.get(
      "/workflow/performance-metrics",
      { ...cfg, schema: { tags, querystring: Type.Object(Range), response: { 200: AnyJson, ...errors } } },
      async (request) => w.performance(request.query),
    );
    app.get(
      "/workflow/pending",
      {
        ...cfg,
        schema: {
          tags,
          querystring: Type.Object({ ...Range, limit: Type.Optional(PositiveIntText) }),
          response: { 200: AnyJson, ...errors },
        },
      },
      async (request) =>
        w.pending({ ...request.query, limit: Math.min(1_000, Number(request.query.limit ?? 100)) }),
    );
    app.get(
      "/workflow/:id/details",
      { ...cfg, schema: { tags, params: IdParams, response: { 200: AnyJson, ...errors } } },
      async (request) => w.details(request.params.id),
    );
  };
}
