import type { ApiDeps } from "../api/api-deps.ts";
import { buildServer } from "../api/server.ts";
import { compileConfig } from "../daemon/config/compile-config.ts";
import { createLogger } from "../daemon/telemetry/logger.ts";
import { VERSION } from "../daemon/version.ts";

/**
 * The OpenAPI document exactly as a running daemon serves it at `/docs/json`: the real server is
 * built from the contract and asked for its document. Nothing is listening and no handler runs, so
 * the services are left out (building the routes reads only the config).
 */
export async function openApiDocument(): Promise<Record<string, unknown>> {
  const config = compileConfig({ OVERSEER_EMBEDDED: "false", LOG_LEVEL: "silent" });
  const deps = { version: VERSION, config } as unknown as ApiDeps;
  const app = await buildServer(deps, createLogger("silent"));
  try {
    await app.ready();
    return app.swagger() as unknown as Record<string, unknown>;
  } finally {
    await app.close();
  }
}
