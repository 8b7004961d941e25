import { Type } from "typebox";
import { defineRoute } from "../route.ts";
import {
  ClaimBody,
  ClaimReply,
  HeartbeatBody,
  HeartbeatReply,
  RegisterBody,
  RegisterReply,
} from "../schemas/agents.ts";
import { IdParams } from "../schemas/common.ts";

/** The agent protocol over HTTP: register, heartbeat, claim (long-poll), deregister (docs/agent-protocol.md). */
export const AGENT_ROUTES = {
  register: defineRoute({
    method: "POST",
    url: "/api/agents/register",
    operationId: "registerAgent",
    summary: "Register an agent (with the agent secret); answers its id and token",
    tag: "agents",
    auth: "register",
    body: RegisterBody,
    replies: { 201: RegisterReply },
  }),
  heartbeat: defineRoute({
    method: "POST",
    url: "/api/agents/:id/heartbeat",
    operationId: "heartbeatAgent",
    summary: "Report liveness, load and held tasks; answers the commands waiting for the agent",
    tag: "agents",
    auth: "agent",
    params: IdParams,
    body: HeartbeatBody,
    replies: { 200: HeartbeatReply },
    errors: [404],
  }),
  claim: defineRoute({
    method: "POST",
    url: "/api/agents/:id/claim",
    operationId: "claimTasks",
    summary: "Lease up to `max` tasks of the agent's capabilities, waiting up to `waitMs` for work",
    tag: "agents",
    auth: "agent",
    params: IdParams,
    body: ClaimBody,
    replies: { 200: ClaimReply },
    errors: [404],
  }),
  deregister: defineRoute({
    method: "DELETE",
    url: "/api/agents/:id",
    operationId: "deregisterAgent",
    summary: "Deregister: the agent leaves and its leases go back to the queue uncounted",
    tag: "agents",
    auth: "agent-or-operator",
    params: IdParams,
    replies: { 204: Type.Null({ description: "deregistered" }) },
    errors: [404],
  }),
};
