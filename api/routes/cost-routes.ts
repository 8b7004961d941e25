import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { ErrorBody } from "../../contract/errors.ts";
import { AnyJson } from "../../contract/schemas/common.ts";
import { TemplateName } from "../../contract/schemas/pipelines.ts";
import { KPI_RANGES } from "../../daemon/analytics/kpi-reads.ts";
import type { ApiDeps } from "../api-deps.ts";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody };
const Window = {
  from: Type.Optional(
    Type.String({ format: "date-time", description: "inclusive; default: 30 days before to" }),
  ),
  to: Type.Optional(Type.String({ format: "date-time", description: "exclusive; default: now" })),
};
const Bucket = Type.Union([Type.Literal("hour"), Type.Literal("day")]);
const Range = Type.Union(KPI_RANGES.map((r) => Type.Literal(r)));

/** LLM cost, usage and the headline KPIs the dashboards read (viewer). */
export function costRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    const c = deps.costs;
    const tags = ["metrics"];
    const cfg = { config: { auth: "viewer" as const } };
    const schema = (querystring: ReturnType<typeof Type.Object>) => ({
      tags,
      querystring,
      response: { 200: AnyJson, ...errors },
    });

    app.get("/metrics/costs", { ...cfg, schema: schema(Type.Object(Window)) }, async (request) =>
      c.costs(request.query),
    );
    app.get(
      "/metrics/costs/breakdown/phase",
      { ...cfg, schema: schema(Type.Object({ ...Window, template: Type.Optional(TemplateName) })) },
      async (request) => c.byPhase(request.query as { from?: string; to?: string; template?: string }),
    );
    app.get(
      "/metrics/costs/breakdown/model",
      { ...cfg, schema: schema(Type.Object(Window)) },
      async (request) => c.byModel(request.query),
    );
    app.get(
      "/metrics/costs/history",
      { ...cfg, schema: schema(Type.Object({ ...Window, bucket: Type.Optional(Bucket) })) },
      async (request) => {
        const q = request.query as { from?: string; to?: string; bucket?: "hour" | "day" };
        return c.history({ ...q, bucket: q.bucket ?? "day" });
      },
    );
    app.get("/metrics/usage", { ...cfg, schema: schema(Type.Object(Window)) }, async (request) =>
      c.usage(request.query),
    );
    app.get(
      "/analytics/kpis",
      { ...cfg, schema: schema(Type.Object({ range: Type.Optional(Range) })) },
      async (request) =>
        deps.kpis.kpis((request.query as { range?: (typeof KPI_RANGES)[number] }).range ?? "30days"),
    );
  };
}
