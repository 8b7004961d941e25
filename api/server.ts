import type { IncomingMessage, ServerResponse } from "node:http";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  LogController,
  type RawServerDefault,
} from "fastify";
import type { Logger } from "pino";
import { TAGS } from "../contract/route.ts";
import { OverseerError } from "../daemon/errors/overseer-error.ts";
import type { ApiDeps } from "./api-deps.ts";
import { type AuthRequirement, allows, forbiddenMessage, type Principal } from "./auth.ts";
import { ControlRateLimiter, principalKey } from "./control-rate-limit.ts";
import { errorHandler } from "./error-handler.ts";
import { HeavyReadAdmission } from "./heavy-read-admission.ts";
import { shapeOpenApi } from "./openapi-shape.ts";
import { jsonDepthExceeds, MAX_JSON_DEPTH } from "./request-guards.ts";
import { requestIdOf } from "./request-id.ts";
import { installResponseCheck } from "./response-check.ts";
import { agentRoutes } from "./routes/agent-routes.ts";
import { artifactRoutes } from "./routes/artifact-routes.ts";
import { auditRoutes } from "./routes/audit-routes.ts";
import { budgetRoutes } from "./routes/budget-routes.ts";
import { consoleRoutes } from "./routes/console-routes.ts";
import { coordinationRoutes } from "./routes/coordination-routes.ts";
import { costRoutes } from "./routes/cost-routes.ts";
import { dashboardRoutes } from "./routes/dashboard-routes.ts";
import { exportRoutes } from "./routes/export-routes.ts";
import { feedbackRoutes } from "./routes/feedback-routes.ts";
import { healthRoutes } from "./routes/health-routes.ts";
import { llmRoutes } from "./routes/llm-routes.ts";
import { overrideRoutes } from "./routes/override-routes.ts";
import { pipelineRoutes } from "./routes/pipeline-routes.ts";
import { recoveryRoutes } from "./routes/recovery-routes.ts";
import { scheduleRoutes } from "./routes/schedule-routes.ts";
import { systemHealthRoutes } from "./routes/system-health-routes.ts";
import { taskRoutes } from "./routes/task-routes.ts";
import { workflowRoutes } from "./routes/workflow-routes.ts";
import { agentSessionSockets } from "./ws/agent-session-socket.ts";
import { routeUpgrades } from "./ws/upgrade-router.ts";
import { feedSockets } from "./ws/ws-upgrade.ts";

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    auth?: AuthRequirement;
    /** `"control"`: a dangerous operator action, rate limited per token (docs/access-control.md). */
    rateLimit?: "control";
    /** Accepts new work: refused with 503 while a system_maintenance override is active. */
    intake?: boolean;
    /** A heavy read (an export): admitted per token and in total, 429 past either (heavy-read-admission.ts). */
    heavy?: boolean;
  }
  interface FastifyInstance {
    /** Every route registered, with its config (the role-matrix test walks it). */
    routeTable: RouteEntry[];
  }
}

/** A registered route as the access checks see it. */
export interface RouteEntry {
  method: string;
  url: string;
  config: { auth?: AuthRequirement; rateLimit?: "control"; intake?: boolean; heavy?: boolean };
}

/**
 * What a refused heavy read is told to wait: exports run for seconds, so sooner only spends another
 * refusal. A hint, not a reservation.
 */
const HEAVY_READ_RETRY_AFTER_S = 5;

/** Builds the HTTP API (not listening). Every route declares `config.auth`; /api routes default to admin. */
export async function buildServer(deps: ApiDeps, logger: Logger): Promise<App> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: deps.config.maxBodyBytes,
    // Bad types are the caller's error, not something to coerce; unknown fields are tolerated.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    // Per-request log lines would drown the event log at agent heartbeat rates; request metrics
    // (overseer_http_request_duration_seconds) and error logs cover requests instead.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    // The audit log records it: the caller's X-Request-Id when sane, else a fresh UUID.
    genReqId: (req) => requestIdOf(req.headers["x-request-id"]),
    // Errors Fastify raises before routing (a malformed URL) get the same body as every other error.
    frameworkErrors: (error, request, reply) => errorHandler(error, request, reply),
  }).withTypeProvider<TypeBoxTypeProvider>();

  // JSON only: a text/plain body is a 415, not a string that half the routes would ignore.
  app.removeContentTypeParser("text/plain");

  app.decorateRequest("principal", null);
  const routeTable: RouteEntry[] = [];
  app.decorate("routeTable", routeTable);
  app.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      routeTable.push({ method, url: route.url, config: (route.config ?? {}) as RouteEntry["config"] });
    }
  });
  app.setErrorHandler(errorHandler);
  if (deps.config.validateResponses) installResponseCheck(app);
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({
      error: {
        code: "OVS_ERR_ROUTE_NOT_FOUND",
        message: `no route ${request.method} ${request.url.split("?")[0]}`,
      },
    });
  });

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Overseer API",
        version: deps.version,
        description:
          "Supervisor daemon for fleets of LLM agents. Every error answer is `{error: {code, message, details?}}` with a stable `OVS_ERR_*` code (docs/errors.md).",
        license: { name: "Apache-2.0", identifier: "Apache-2.0" },
      },
      servers: [{ url: "/", description: "the daemon that serves this document" }],
      tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
      components: {
        securitySchemes: {
          bearer: {
            type: "http",
            scheme: "bearer",
            description:
              "An admin, operator or viewer token, an agent token, or the agent secret (register only)",
          },
        },
      },
      security: [{ bearer: [] }],
    },
    transformObject: (document) => shapeOpenApi("openapiObject" in document ? document.openapiObject : {}),
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });

  app.addHook("onRequest", async (request) => {
    // Routes declare their requirement; an unmatched /api path needs any valid token (so it is a
    // 404 for every role, and reveals nothing without one).
    const declared = request.routeOptions.config?.auth;
    const need: AuthRequirement =
      declared ??
      (!request.url.startsWith("/api") ? "public" : request.routeOptions.url ? "admin" : "viewer");
    if (need === "public") return;
    const header = request.headers.authorization;
    const token = header?.startsWith("Bearer ") ? header.slice(7).trim() : undefined;
    if (!token) throw new OverseerError("OVS_ERR_UNAUTHENTICATED", "send Authorization: Bearer <token>");
    const who = deps.auth.identify(token);
    if (!who) throw new OverseerError("OVS_ERR_UNAUTHENTICATED", "unknown token");
    if (!allows(who, need)) throw new OverseerError("OVS_ERR_FORBIDDEN", forbiddenMessage(need));
    request.principal = who;
  });

  // After authentication, so each token has its own bucket (an anonymous caller never gets here).
  const controlLimiter = new ControlRateLimiter(
    deps.config.controlRateBurst,
    deps.config.controlRatePerMinute,
  );
  const heavyReads = new HeavyReadAdmission(deps.config.reportMaxPerToken, deps.config.reportMaxTotal);
  app.addHook("onRequest", async (request, reply) => {
    const config = request.routeOptions.config;
    if (config?.heavy) {
      const release = heavyReads.enter(principalKey(request.principal));
      if (!release) {
        void reply.header("retry-after", String(HEAVY_READ_RETRY_AFTER_S));
        throw new OverseerError(
          "OVS_ERR_TOO_MANY_HEAVY_READS",
          `too many exports running (at most ${deps.config.reportMaxPerToken} per token, ${deps.config.reportMaxTotal} in all); retry in ${HEAVY_READ_RETRY_AFTER_S} s`,
        );
      }
      // Held until the answer's socket is done with, streamed body included, or the client left.
      reply.raw.once("close", release);
    }
    if (config?.rateLimit === "control") {
      const wait = controlLimiter.take(principalKey(request.principal));
      if (wait !== null) {
        void reply.header("retry-after", String(wait));
        throw new OverseerError("OVS_ERR_RATE_LIMITED", `too many control requests; retry in ${wait} s`);
      }
    }
    if (config?.intake && deps.overrides.gate.maintenance()) {
      const wait = deps.overrides.gate.retryAfterSeconds();
      void reply.header("retry-after", String(wait));
      throw new OverseerError(
        "OVS_ERR_MAINTENANCE",
        "the system is in maintenance (emergency override): no new work is accepted; reads still work",
      );
    }
  });

  // An empty POST body is an empty object, so a missing field is reported as exactly that.
  app.addHook("preValidation", async (request) => {
    if (request.method === "POST" && request.body === undefined) request.body = {};
    if (jsonDepthExceeds(request.body, MAX_JSON_DEPTH)) {
      throw new OverseerError("OVS_ERR_VALIDATION", `the body nests deeper than ${MAX_JSON_DEPTH} levels`);
    }
  });

  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    deps.metrics.httpDuration.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  await app.register(healthRoutes(deps));
  await app.register(agentRoutes(deps));
  await app.register(taskRoutes(deps));
  await app.register(dashboardRoutes(deps));
  await app.register(coordinationRoutes(deps));
  await app.register(systemHealthRoutes(deps));
  await app.register(pipelineRoutes(deps));
  await app.register(scheduleRoutes(deps));
  await app.register(artifactRoutes(deps));
  await app.register(workflowRoutes(deps));
  await app.register(costRoutes(deps));
  await app.register(llmRoutes(deps));
  await app.register(budgetRoutes(deps));
  await app.register(feedbackRoutes(deps));
  await app.register(exportRoutes(deps));
  await app.register(overrideRoutes(deps));
  await app.register(auditRoutes(deps));
  await app.register(recoveryRoutes(deps));
  await app.register(consoleRoutes(deps));
  const registry = deps.sessions;
  const sessions =
    registry &&
    agentSessionSockets({
      sessions: registry,
      agents: deps.agents,
      tasks: deps.tasks,
      auth: deps.auth,
      accepting: () => deps.health().lifecycle === "RUNNING",
      claimMaxWaitMs: deps.config.claimMaxWaitMs,
      maxFrameBytes: deps.config.maxBodyBytes,
      onAnswered: (op, status, seconds) =>
        deps.metrics.agentSessionRequests.observe({ op, status_code: String(status) }, seconds),
      onError: (error, context) => app.log.error({ err: error }, context),
    });
  const hub = deps.feeds;
  const feeds = hub
    ? feedSockets({
        hub,
        auth: deps.auth,
        allowedOrigins: deps.config.wsAllowedOrigins,
        limits: { total: deps.config.wsMaxClients, perToken: deps.config.wsMaxClientsPerToken },
        onRefused: (reason) => deps.metrics.wsClientsRefused.inc({ reason }),
        accepting: () => deps.health().lifecycle === "RUNNING",
      })
    : undefined;
  if (sessions) routeUpgrades(app.server, { feeds: feeds?.upgrade, session: sessions.upgrade });
  // Upgraded sockets keep server.close() open: close them first (the daemon normally has already).
  app.addHook("preClose", async () => {
    registry?.stop();
    sessions?.close();
    if (hub) await hub.stop();
    feeds?.close();
  });
  return app;
}

export type App = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;
