import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { GRAFANA_DASHBOARDS } from "../../contract/grafana-dashboards.ts";
import { CONSOLE_ROUTES as R } from "../../contract/routes/console.ts";
import { OverseerError } from "../../daemon/errors/overseer-error.ts";
import type { ApiDeps } from "../api-deps.ts";
import { routeOptions } from "../route-options.ts";
import { type ConsoleAsset, defaultConsoleDir, loadConsoleAssets } from "./console-assets.ts";
import { actorOf } from "./pipeline-routes.ts";

/**
 * The console's pages hold no data (every read goes through the API with the operator's token), so
 * they are public; the policy keeps them from loading anything but their own files or being framed.
 */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
};

/** The operator console at /ui (docs/console.md) and its session read. */
export function consoleRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.route({
      ...routeOptions(R.session),
      handler: async (request) => {
        const who = request.principal;
        if (who?.kind !== "role")
          throw new OverseerError("OVS_ERR_FORBIDDEN", "the console needs a role token");
        return {
          role: who.role,
          actor: actorOf(request),
          grafana: { url: deps.config.grafanaUrl || null, dashboards: { ...GRAFANA_DASHBOARDS } },
        };
      },
    });

    const dir = deps.config.consoleDir || defaultConsoleDir();
    let assets: Map<string, ConsoleAsset> | undefined;
    const serve = (path: string, ifNoneMatch: string | undefined) => {
      assets ??= loadConsoleAssets(dir);
      if (assets.size === 0) {
        throw new OverseerError(
          "OVS_ERR_ROUTE_NOT_FOUND",
          `the console is not built in ${dir}: run npm run build, or set OVERSEER_CONSOLE_DIR to a build`,
        );
      }
      const asset = assets.get(path === "" ? "index.html" : path);
      if (!asset) throw new OverseerError("OVS_ERR_ROUTE_NOT_FOUND", `no console file ${path}`);
      return { asset, fresh: ifNoneMatch === asset.etag };
    };

    // Relative, so a proxy that serves the daemon under a path prefix keeps it.
    app.get("/ui", { config: { auth: "public" }, schema: { hide: true } }, async (_request, reply) =>
      reply.code(308).header("location", "ui/").send(),
    );
    app.get<{ Params: { "*": string } }>(
      "/ui/*",
      { config: { auth: "public" }, schema: { hide: true } },
      async (request, reply) => {
        const { asset, fresh } = serve(request.params["*"], request.headers["if-none-match"]);
        void reply.headers(SECURITY_HEADERS).header("etag", asset.etag);
        if (fresh) return reply.code(304).send();
        return reply.type(asset.type).send(asset.body);
      },
    );
  };
}
