import { defineRoute } from "../route.ts";
import { IdParams } from "../schemas/common.ts";
import {
  AutoHealBody,
  HealReport,
  ManagedAgentsReply,
  RestartBody,
  RestartOutcome,
} from "../schemas/recovery.ts";

/** Agent restart, auto-heal and managed agents (docs/recovery.md). */
export const RECOVERY_ROUTES = {
  restartAgent: defineRoute({
    method: "POST",
    url: "/api/dashboard/agents/:id/restart",
    operationId: "restartAgent",
    summary:
      "Restart or drain an agent: its leases are released at once; a managed process is restarted, any other agent gets the command in its heartbeat answer (audited)",
    tag: "recovery",
    auth: "operator",
    rateLimit: "control",
    params: IdParams,
    body: RestartBody,
    replies: { 200: RestartOutcome },
    errors: [404],
  }),
  autoHeal: defineRoute({
    method: "POST",
    url: "/api/dashboard/recovery/auto-heal",
    operationId: "runAutoHeal",
    summary:
      "Plan an auto-heal pass with a strategy (dryRun, the default) or execute it within the intensity limits (audited)",
    tag: "recovery",
    auth: "operator",
    rateLimit: "control",
    body: AutoHealBody,
    replies: { 200: HealReport },
  }),
  managedAgents: defineRoute({
    method: "GET",
    url: "/api/dashboard/recovery/managed-agents",
    operationId: "listManagedAgents",
    summary: "This replica's managed agent processes, and the quarantines and open circuits in force",
    tag: "recovery",
    auth: "viewer",
    replies: { 200: ManagedAgentsReply },
  }),
};
