import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { Static } from "typebox";
import { RECOVERY_ROUTES as R } from "../../contract/routes/recovery.ts";
import type { ManagedAgentsReply, RestartOutcome } from "../../contract/schemas/recovery.ts";
import type { ApiDeps } from "../api-deps.ts";
import { routeOptions } from "../route-options.ts";
import { actorOf } from "./pipeline-routes.ts";

/** Agent restart, auto-heal and managed agents (docs/recovery.md). */
export function recoveryRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.route({
      ...routeOptions(R.restartAgent),
      handler: async (request): Promise<RestartOutcome> =>
        deps.recovery.restarter.restart(request.params.id, {
          reason: request.body.reason,
          mode: request.body.mode ?? "restart",
          actor: actorOf(request),
          requestId: request.id,
        }),
    });

    app.route({
      ...routeOptions(R.autoHeal),
      // Not annotated with the contract's HealReport yet: heal-service.ts declares its actions as
      // plain strings (they are HealActionKind); once it derives its report from the contract, annotate.
      handler: async (request) =>
        deps.recovery.heal.heal({
          strategy: request.body.strategy,
          // A plan unless the caller asks for execution in so many words.
          dryRun: request.body.dryRun ?? true,
          actor: actorOf(request),
          requestId: request.id,
          trigger: "api",
        }),
    });

    app.route({
      ...routeOptions(R.managedAgents),
      handler: async (): Promise<Static<typeof ManagedAgentsReply>> => {
        await deps.recovery.gate.refresh();
        return { managed: deps.recovery.managed(), ...deps.recovery.gate.snapshot() };
      },
    });
  };
}
