import type { IncomingMessage, ServerResponse } from "node:http";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RawServerDefault } from "fastify";
import type { Logger } from "pino";
import { OverseerError } from "../daemon/errors/overseer-error.ts";
import type { ApiDeps } from "./api-deps.ts";
import { type AuthRequirement, allows, type Principal } from "./auth.ts";
import { errorHandler } from "./error-handler.ts";
import { agentRoutes } from "./routes/agent-routes.ts";
import { dashboardRoutes } from "./routes/dashboard-routes.ts";
import { healthRoutes } from "./routes/health-routes.ts";
import { taskRoutes } from "./routes/task-routes.ts";

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    auth?: AuthRequirement;
  }
}

/** Builds the HTTP API (not listening). Every route declares `config.auth`; /api routes default to admin. */
export async function buildServer(deps: ApiDeps, logger: Logger): Promise<App> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: deps.config.maxBodyBytes,
    // Bad types are the caller's error, not something to coerce; unknown fields are tolerated.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    disableRequestLogging: true,
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorateRequest("principal", null);
  app.setErrorHandler(errorHandler);
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
      info: {
        title: "Overseer API",
        version: deps.version,
        description: "Supervisor daemon for fleets of LLM agents",
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });

  app.addHook("onRequest", async (request) => {
    const need: AuthRequirement =
      request.routeOptions.config.auth ?? (request.url.startsWith("/api") ? "admin" : "public");
    if (need === "public") return;
    const header = request.headers.authorization;
    const token = header?.startsWith("Bearer ") ? header.slice(7).trim() : undefined;
    if (!token) throw new OverseerError("OVS_ERR_UNAUTHENTICATED", "send Authorization: Bearer <token>");
    const who = deps.auth.identify(token);
    if (!who) throw new OverseerError("OVS_ERR_UNAUTHENTICATED", "unknown token");
    if (!allows(who, need)) throw new OverseerError("OVS_ERR_FORBIDDEN", `this route needs ${need}`);
    request.principal = who;
  });

  // An empty POST body is an empty object, so a missing field is reported as exactly that.
  app.addHook("preValidation", async (request) => {
    if (request.method === "POST" && request.body === undefined) request.body = {};
  });

  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    deps.metrics.httpDuration.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  await app.register(healthRoutes(deps));
  await app.register(agentRoutes(deps), { prefix: "/api" });
  await app.register(taskRoutes(deps), { prefix: "/api" });
  await app.register(dashboardRoutes(deps), { prefix: "/api/dashboard" });
  return app;
}

/** The agent a request acts for; throws 403 when an agent token acts on another agent's id. */
export function actingAgent(who: Principal | null, agentId: string): string | null {
  if (who?.kind === "agent") {
    if (who.agentId !== agentId)
      throw new OverseerError("OVS_ERR_FORBIDDEN", "an agent token acts only on its own agent");
    return who.agentId;
  }
  return null;
}

export type App = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;
