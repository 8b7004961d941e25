import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { type WebSocket, WebSocketServer } from "ws";
import {
  MAX_SESSION_IN_FLIGHT,
  SESSION_CLOSE,
  SESSION_OPS,
  SESSION_SUBPROTOCOL,
  type SessionOp,
  type SessionReply,
} from "../../contract/agent-session.ts";
import { Uuid } from "../../contract/schemas/common.ts";
import type { AgentService, HeartbeatInput } from "../../daemon/agents/agent-service.ts";
import type { AgentSessions } from "../../daemon/agents/agent-sessions.ts";
import { OverseerError } from "../../daemon/errors/overseer-error.ts";
import type { TaskService } from "../../daemon/tasks/task-service.ts";
import type { Authenticator } from "../auth.ts";
import { claimReply } from "../claim-reply.ts";
import { toErrorBody } from "../error-handler.ts";
import { jsonDepthExceeds, MAX_JSON_DEPTH } from "../request-guards.ts";
import { refuse, tokenOf } from "./upgrade-replies.ts";

export interface AgentSessionSocketDeps {
  sessions: AgentSessions;
  agents: AgentService;
  tasks: TaskService;
  auth: Authenticator;
  /** False while the daemon is not RUNNING (draining): new sessions get 503. */
  accepting: () => boolean;
  claimMaxWaitMs: number;
  /** Largest frame, in bytes (OVERSEER_MAX_BODY_BYTES); a larger one closes the session with 1009. */
  maxFrameBytes: number;
  /** Each request answered: its op, the status of its answer, and how long it took (the metric). */
  onAnswered(op: SessionOp, status: number, seconds: number): void;
  /** Unexpected faults (answered 500 to the agent). */
  onError(error: unknown, context: string): void;
}

type Validated = { op: SessionOp; id: number | string; taskId?: string; body: unknown };

/**
 * Serves agent sessions (`GET /api/agents/{id}/session`, docs/agent-protocol.md "Sessions"): each
 * request is answered by the same service call as its HTTP route, with the same schema checks,
 * answers and error codes, so fencing and exactly-once completion are the HTTP path's own.
 */
export function agentSessionSockets(deps: AgentSessionSocketDeps) {
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    // The HTTP routes' body limit: a complete carries the same result either way.
    maxPayload: deps.maxFrameBytes,
    handleProtocols: (protocols) => (protocols.has(SESSION_SUBPROTOCOL) ? SESSION_SUBPROTOCOL : false),
  });
  const check = validators();

  async function upgrade(agentId: string, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (!deps.accepting()) return refuse(socket, "OVS_ERR_SHUTTING_DOWN", "the daemon is draining");
    const token = tokenOf(req);
    const who = token ? deps.auth.identify(token) : null;
    if (!who) return refuse(socket, "OVS_ERR_UNAUTHENTICATED", "send Authorization: Bearer <agent token>");
    if (who.kind !== "agent" || who.agentId !== agentId) {
      return refuse(socket, "OVS_ERR_FORBIDDEN", "a session needs this agent's own token");
    }
    try {
      // 404 when the agent is dead, has left or is unknown: it must register again.
      await deps.agents.claimant(agentId);
    } catch (error) {
      const { body } = toErrorBody(error);
      return refuse(socket, body.error.code, body.error.message);
    }
    if (socket.destroyed) return;
    wss.handleUpgrade(req, socket, head, (ws) => void serve(ws, agentId));
  }

  async function serve(ws: WebSocket, agentId: string): Promise<void> {
    // Frames that arrive before the session is registered wait for it (a fast agent sends at once).
    const ready = deps.sessions.opened(agentId, ws);
    const claims = new Set<AbortController>();
    let inFlight = 0;
    let closed = false;
    ws.on("error", () => ws.terminate());
    ws.on("close", () => {
      closed = true;
      for (const c of claims) c.abort();
      void ready.then((session) => deps.sessions.closed(session)).catch(() => {});
    });
    ws.on("message", (data, isBinary) => {
      const parsed = isBinary ? null : parse(data.toString(), check);
      if (parsed && "bye" in parsed) {
        void ready.then((session) => {
          deps.sessions.goodbye(session);
          ws.close(SESSION_CLOSE.goodbye, "goodbye");
        });
        return;
      }
      if (!parsed || "problem" in parsed) {
        const problem = parsed?.problem ?? { re: null, message: "send text frames" };
        return send({
          re: problem.re,
          status: 400,
          error: { code: "OVS_ERR_VALIDATION", message: problem.message },
        });
      }
      if (inFlight >= MAX_SESSION_IN_FLIGHT) {
        return send({
          re: parsed.id,
          status: 429,
          error: {
            code: "OVS_ERR_RATE_LIMITED",
            message: `more than ${MAX_SESSION_IN_FLIGHT} requests in flight on this session`,
          },
        });
      }
      inFlight++;
      const started = performance.now();
      const answered = (status: number) =>
        deps.onAnswered(parsed.op, status, (performance.now() - started) / 1000);
      void ready
        .then(() => run(parsed))
        .then(
          (body) => {
            send({ re: parsed.id, status: 200, body });
            answered(200);
          },
          (error: unknown) => {
            const { status, body } = toErrorBody(error);
            if (status >= 500) deps.onError(error, `session ${parsed.op}`);
            send({ re: parsed.id, status, error: body.error });
            answered(status);
            // The agent is dead or has left: this session has nothing more to carry.
            if (!SESSION_OPS[parsed.op].task && body.error.code === "OVS_ERR_AGENT_NOT_FOUND") {
              ws.close(SESSION_CLOSE.gone, "the agent is dead or has left: register again");
            }
          },
        )
        .finally(() => inFlight--);
    });

    function send(reply: SessionReply): void {
      if (!closed) ws.send(JSON.stringify(reply));
    }

    async function run(r: Validated): Promise<unknown> {
      const body = r.body as Record<string, never>;
      const taskId = r.taskId as string;
      switch (r.op) {
        case "heartbeat":
          return deps.agents.heartbeat(agentId, body as HeartbeatInput);
        case "claim": {
          const agent = await deps.agents.claimant(agentId);
          if (!agent) return { tasks: [] };
          const hangup = new AbortController();
          claims.add(hangup);
          if (closed) hangup.abort();
          try {
            const b = r.body as { max?: number; waitMs?: number };
            const max = Math.min(b.max ?? 1, agent.concurrency);
            const waitMs = Math.min(b.waitMs ?? 0, deps.claimMaxWaitMs);
            return claimReply(await deps.tasks.claim(agent, max, waitMs, hangup.signal));
          } finally {
            claims.delete(hangup);
          }
        }
        case "progress": {
          const b = r.body as { leaseToken: string; percent?: number; message?: string };
          await deps.tasks.progress(taskId, b.leaseToken, agentId, b.percent, b.message);
          return { ok: true };
        }
        case "complete": {
          const b = r.body as { leaseToken: string; result?: unknown; traceparent?: string };
          await deps.tasks.complete(taskId, b.leaseToken, agentId, b.result, b.traceparent);
          return { ok: true };
        }
        case "fail": {
          const b = r.body as {
            leaseToken: string;
            error: { message: string; category?: string; retryable?: boolean };
            traceparent?: string;
          };
          await deps.tasks.fail(taskId, b.leaseToken, agentId, b.error, b.traceparent);
          return { ok: true };
        }
        case "release": {
          const b = r.body as { leaseToken: string };
          await deps.tasks.release(taskId, b.leaseToken, agentId);
          return { ok: true };
        }
        default:
          throw new OverseerError("OVS_ERR_VALIDATION", `unknown op ${String(r.op)}`);
      }
    }
  }

  return {
    upgrade: (agentId: string, req: IncomingMessage, socket: Duplex, head: Buffer) =>
      upgrade(agentId, req, socket, head).catch((error) => {
        deps.onError(error, "agent session upgrade");
        refuse(socket, "OVS_ERR_INTERNAL", "could not open the session");
      }),
    close: () => wss.close(),
  };
}

type Checks = { body: Record<SessionOp, ValidateFunction>; taskId: ValidateFunction };

function validators(): Checks {
  const ajv = new Ajv({ allErrors: false, strict: false, coerceTypes: false });
  addFormats.default(ajv);
  const body = {} as Record<SessionOp, ValidateFunction>;
  for (const [op, spec] of Object.entries(SESSION_OPS)) body[op as SessionOp] = ajv.compile(spec.body);
  return { body, taskId: ajv.compile(Uuid) };
}

/** A frame as a request, the goodbye, or the problem with it (and the request id, when usable). */
function parse(
  text: string,
  check: Checks,
): Validated | { bye: true } | { problem: { re: number | string | null; message: string } } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { problem: { re: null, message: "the frame is not JSON" } };
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return { problem: { re: null, message: "a request is a JSON object" } };
  }
  const m = raw as { id?: unknown; op?: unknown; taskId?: unknown; body?: unknown };
  if (m.op === "bye") return { bye: true };
  const id =
    (typeof m.id === "number" && Number.isFinite(m.id)) || (typeof m.id === "string" && m.id.length <= 64)
      ? (m.id as number | string)
      : null;
  const bad = (message: string) => ({ problem: { re: id, message } });
  if (id === null) return bad("`id` must be a number or a string of at most 64 characters");
  if (typeof m.op !== "string" || !Object.hasOwn(SESSION_OPS, m.op)) {
    return bad(`\`op\` must be one of ${Object.keys(SESSION_OPS).join(", ")} or bye`);
  }
  const op = m.op as SessionOp;
  const body = m.body ?? {};
  // The HTTP routes' limit too (api/server.ts): a body nested deeper is refused before validation.
  if (jsonDepthExceeds(body, MAX_JSON_DEPTH))
    return bad(`the body nests deeper than ${MAX_JSON_DEPTH} levels`);
  if (SESSION_OPS[op].task && !check.taskId(m.taskId)) return bad(`${op} needs \`taskId\`, a task id`);
  const validate = check.body[op];
  if (!validate(body)) {
    return bad(
      `body${validate.errors?.[0]?.instancePath ?? ""} ${validate.errors?.[0]?.message ?? "is invalid"}`,
    );
  }
  return SESSION_OPS[op].task ? { op, id, taskId: m.taskId as string, body } : { op, id, body };
}
