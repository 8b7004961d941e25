import type { TSchema } from "typebox";

/**
 * What one HTTP route promises: its path, who may call it, what it takes and what it answers. The
 * API registers each route from its contract (validation and serialisation), the OpenAPI document
 * is generated from the same objects, and the SDK's wire types are derived from their schemas.
 */

/** Who may call a route (docs/access-control.md); roles nest admin ⊃ operator ⊃ viewer. */
export type AuthRequirement =
  | "public"
  | "viewer"
  | "operator"
  | "admin"
  | "agent"
  | "agent-or-operator"
  | "register";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** The OpenAPI tags, in the order the document lists them, with what each groups. */
export const TAGS = {
  health: "Liveness, readiness and the Prometheus scrape (no token)",
  agents: "The agent protocol: register, heartbeat, claim, deregister",
  tasks: "Submit, list and inspect tasks; the lease holder's progress, complete, fail and release",
  pipelines: "Pipeline templates, runs and operator actions on runs and steps",
  artifacts: "Artifacts and conversations of pipeline runs",
  workflow: "Workflow history and statistics of pipeline runs",
  schedules: "Cron and one-off schedules of pipeline runs",
  llm: "LLM calls: recording, usage, costs and the training-data export",
  budgets: "Cost budgets and approvals",
  feedback: "Ratings of runs, steps and LLM calls",
  dashboard: "Reads behind the dashboards: agents, queues, KPIs",
  coordination: "Success rates, failures, diagnostics and the coordination levers",
  recovery: "Agent restarts, auto-heal and managed agents",
  overrides: "Emergency overrides: dry run, confirm, execute, undo",
  audit: "The audit log of operator actions",
  console: "The operator console's session: the token's role and where Grafana is",
} as const;
export type Tag = keyof typeof TAGS;

export interface RouteContract {
  method: HttpMethod;
  /** The full path, with `:name` parameters. */
  url: string;
  /** Stable and unique: generated clients name their methods after it. */
  operationId: string;
  summary: string;
  description?: string;
  tag: Tag;
  auth: AuthRequirement;
  params?: TSchema;
  querystring?: TSchema;
  body?: TSchema;
  /**
   * Answers by status code other than the error body: the successes, and any error status whose
   * body is the route's own (the 503 of /readyz lists the failing checks).
   */
  replies: Record<number, TSchema>;
  /** Error statuses this route answers beyond those derived from its shape (see `errorStatuses`). */
  errors?: readonly ErrorStatus[];
  /** A dangerous operator action, rate limited per token (429). */
  rateLimit?: "control";
  /**
   * A heavy read (an export over a long range): runs on the report pool, admitted per token and in
   * total; past either limit, 429 with Retry-After.
   */
  heavy?: boolean;
  /** Accepts new work: refused with 503 while a system_maintenance override is active. */
  intake?: boolean;
  /** The media type of a success answer that is not JSON (the metrics text, an NDJSON export). */
  produces?: string;
}

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 500 | 503;

/** Keeps a route's literal types (so handlers are checked against its schemas). */
export function defineRoute<const R extends RouteContract>(route: R): R {
  return route;
}

/**
 * Every error status a caller can get from `route`: 400 when it takes input, 401/403 unless it is
 * public, 413/415 when it takes a body, 429 when rate limited, 500 and 503 always (503 while the
 * daemon drains or a dependency is down), plus the ones the route declares (404, 409, ...).
 */
export function errorStatuses(route: RouteContract): ErrorStatus[] {
  const out = new Set<ErrorStatus>(route.errors ?? []);
  const own = (status: ErrorStatus) => status in route.replies;
  if (route.params || route.querystring || route.body) out.add(400);
  if (route.auth !== "public") {
    out.add(401);
    out.add(403);
  }
  if (route.method === "POST" || route.method === "PUT" || route.method === "PATCH") {
    out.add(400);
    out.add(413);
    out.add(415);
  }
  if (route.rateLimit === "control" || route.heavy) out.add(429);
  out.add(500);
  out.add(503);
  return [...out].filter((s) => !own(s)).sort((a, b) => a - b);
}
