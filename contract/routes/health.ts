import { defineRoute } from "../route.ts";
import { HealthzReply, MetricsText, ReadyzReply } from "../schemas/health.ts";

/** Unauthenticated probes and the Prometheus scrape endpoint. */
export const HEALTH_ROUTES = {
  healthz: defineRoute({
    method: "GET",
    url: "/healthz",
    operationId: "getHealthz",
    summary: "Liveness: 200 unless the process failed (then 503, status failed)",
    tag: "health",
    auth: "public",
    replies: { 200: HealthzReply, 503: HealthzReply },
  }),
  readyz: defineRoute({
    method: "GET",
    url: "/readyz",
    operationId: "getReadyz",
    summary:
      "Readiness: 200 when running and Postgres, Redis, migrations and a leader check out; else 503 with the failing checks",
    tag: "health",
    auth: "public",
    replies: { 200: ReadyzReply, 503: ReadyzReply },
  }),
  metrics: defineRoute({
    method: "GET",
    url: "/metrics",
    operationId: "getMetrics",
    summary: "Prometheus metrics of this replica (docs/metrics.md)",
    tag: "health",
    auth: "public",
    replies: { 200: MetricsText },
    produces: "text/plain; version=0.0.4; charset=utf-8",
  }),
};
