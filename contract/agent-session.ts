import type { TSchema } from "typebox";
import { ClaimBody, ClaimReply, HeartbeatBody, HeartbeatReply } from "./schemas/agents.ts";
import { CompleteBody, FailBody, ProgressBody, ReleaseBody } from "./schemas/tasks.ts";

/**
 * The agent session protocol (docs/agent-protocol.md, "Sessions"): one WebSocket per agent that
 * carries what the HTTP agent routes carry, with the same bodies, answers, error codes and fencing.
 * JSON text frames, one message each; protocol version 1 is the `overseer.agent.v1` subprotocol.
 */
export const SESSION_SUBPROTOCOL = "overseer.agent.v1";

/** `GET /api/agents/{id}/session` with `Upgrade: websocket`, authenticated with that agent's token. */
export const SESSION_PATH = /^\/api\/agents\/([^/]+)\/session$/;
export function sessionPath(agentId: string): string {
  return `/api/agents/${encodeURIComponent(agentId)}/session`;
}

/**
 * Each operation, the HTTP route it mirrors and its body schema. Task operations name the task
 * in `taskId`; the body is exactly the HTTP route's body.
 */
export const SESSION_OPS = {
  heartbeat: {
    body: HeartbeatBody,
    reply: HeartbeatReply,
    task: false,
    http: "POST /api/agents/{id}/heartbeat",
  },
  claim: { body: ClaimBody, reply: ClaimReply, task: false, http: "POST /api/agents/{id}/claim" },
  progress: { body: ProgressBody, reply: null, task: true, http: "POST /api/tasks/{taskId}/progress" },
  complete: { body: CompleteBody, reply: null, task: true, http: "POST /api/tasks/{taskId}/complete" },
  fail: { body: FailBody, reply: null, task: true, http: "POST /api/tasks/{taskId}/fail" },
  release: { body: ReleaseBody, reply: null, task: true, http: "POST /api/tasks/{taskId}/release" },
} as const satisfies Record<string, { body: TSchema; reply: TSchema | null; task: boolean; http: string }>;
export type SessionOp = keyof typeof SESSION_OPS;

/** Client → server: a request (answered once, by `re`), or the goodbye before a clean close. */
export type SessionRequest = {
  /** Chosen by the agent, echoed as `re`; unique among its requests in flight. */
  id: number | string;
  op: SessionOp;
  /** For progress, complete, fail and release. */
  taskId?: string;
  body?: unknown;
};
export type SessionGoodbye = { op: "bye" };

/** Server → client: the answer to request `re`, with the HTTP status the route would have used. */
export type SessionReply =
  | { re: number | string; status: number; body: unknown }
  | { re: number | string | null; status: number; error: { code: string; message: string } };

/** Requests one session may have in flight; more are answered 429 at once. */
export const MAX_SESSION_IN_FLIGHT = 256;

/**
 * Close codes. An agent reconnects after any of them except 4404 (register again) and 1000 after
 * its own goodbye; after 1012 it should expect another replica to answer.
 */
export const SESSION_CLOSE = {
  /** After the agent's goodbye. */
  goodbye: 1000,
  /** The daemon is draining or restarting: reconnect (a load balancer sends you to another replica). */
  restarting: 1012,
  /** A newer session of the same agent took over (a reconnect that raced the old socket's close). */
  replaced: 4409,
  /** A heartbeat or claim found the agent dead or gone (its 404 answer comes first): register again. */
  gone: 4404,
} as const;
