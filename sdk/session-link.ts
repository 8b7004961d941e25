import WebSocket from "ws";
import {
  SESSION_CLOSE,
  SESSION_SUBPROTOCOL,
  type SessionOp,
  type SessionReply,
  sessionPath,
} from "../contract/agent-session.ts";
import type { Session } from "./agent-registration.ts";
import { type ApiCaller, ApiError, type HttpClient, type RequestOptions } from "./http-client.ts";
import { type Clock, errorMessage, type Logger } from "./runtime.ts";

export interface SessionLinkDeps {
  http: HttpClient;
  logger: Logger;
  clock: Clock;
  /** Opens a WebSocket (tests swap it); the `ws` package by default. */
  connect?: (url: string, token: string) => WebSocket;
}

/** Reconnect delays after a lost session: at once (inside the daemon's grace), then backing off. */
const RECONNECT_DELAYS_MS = [0, 50, 250, 1_000, 2_500, 5_000, 15_000, 30_000];

const AGENT_OP = /^\/api\/agents\/([^/]+)\/(heartbeat|claim)$/;
const TASK_OP = /^\/api\/tasks\/([^/]+)\/(progress|complete|fail|release)$/;

type Pending = { resolve(reply: SessionReply): void; reject(error: Error): void };

/**
 * The agent protocol over a session (docs/agent-protocol.md, "Sessions"): the same calls as the HTTP
 * client, sent over one WebSocket while it is open and over HTTP otherwise. A call whose session
 * drops before its answer is sent again over HTTP; every one of them is safe to repeat (a repeated
 * complete with the same lease is 200, a claim the daemon saw abandoned hands its leases back).
 * Only the current registration's calls use the session; reports under an older one go over HTTP.
 */
export class SessionLink implements ApiCaller {
  private ws: WebSocket | undefined;
  private openFor: Session | undefined;
  /** The registration the link keeps a session open for; undefined once closed. */
  private wanted: Session | undefined;
  /** Calls awaiting their answer, per socket: a socket's close fails its own calls only. */
  private readonly pending = new WeakMap<WebSocket, Map<number, Pending>>();
  private nextId = 0;
  private failures = 0;
  private retryTimer: unknown;

  constructor(private readonly deps: SessionLinkDeps) {}

  /** True while requests of `session` go over the WebSocket. */
  isOpenFor(session: Session): boolean {
    return this.openFor === session && this.ws?.readyState === WebSocket.OPEN;
  }

  /** Keeps a session open for this registration (closing one of an older registration). */
  use(session: Session): void {
    if (this.wanted === session) return;
    this.goodbye();
    this.wanted = session;
    this.failures = 0;
    this.open(session);
  }

  /**
   * Resolves once the session of the current registration is open, or its first try failed, or
   * after `ms`: the agent's first claim then long-polls over the session instead of holding an
   * HTTP request for its whole wait.
   */
  settled(ms: number): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.CONNECTING) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.deps.clock.clearTimeout(timer);
        ws.off("open", done).off("close", done);
        resolve();
      };
      const timer = this.deps.clock.setTimeout(done, ms);
      ws.once("open", done).once("close", done);
    });
  }

  /** Says goodbye and closes: the daemon will not count the close as a crash. */
  close(): Promise<void> {
    const ws = this.ws;
    this.goodbye();
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      ws.once("close", () => resolve());
      this.deps.clock.setTimeout(() => {
        ws.terminate();
        resolve();
      }, 1_000);
    });
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const call = method === "POST" ? this.sessionCall(path, opts) : undefined;
    if (!call) return this.deps.http.request<T>(method, path, opts);
    let reply: SessionReply;
    try {
      reply = await this.send(call, opts);
    } catch (error) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      // The session went away under the call: HTTP answers it instead.
      this.deps.logger.debug({ path, err: errorMessage(error) }, "session call failed; over HTTP");
      return this.deps.http.request<T>(method, path, opts);
    }
    if ("error" in reply) {
      const error = new ApiError(reply.status, reply.error.code, reply.error.message, {
        request: `${call.op} over the session`,
      });
      // Transient answers are retried the HTTP client's way, with its backoff and failover.
      if (error.transient) return this.deps.http.request<T>(method, path, opts);
      throw error;
    }
    return reply.body as T;
  }

  /** The session request for an HTTP call of the current registration, if it has one. */
  private sessionCall(
    path: string,
    opts: RequestOptions,
  ): { op: SessionOp; taskId?: string; body: unknown } | undefined {
    const session = this.openFor;
    if (!session || !this.ws || this.ws.readyState !== WebSocket.OPEN || opts.token !== session.token) {
      return undefined;
    }
    const agent = AGENT_OP.exec(path);
    if (agent)
      return agent[1] === session.id ? { op: agent[2] as SessionOp, body: opts.body ?? {} } : undefined;
    const task = TASK_OP.exec(path);
    if (task) return { op: task[2] as SessionOp, taskId: task[1] as string, body: opts.body ?? {} };
    return undefined;
  }

  private send(
    call: { op: SessionOp; taskId?: string; body: unknown },
    opts: RequestOptions,
  ): Promise<SessionReply> {
    const ws = this.ws as WebSocket;
    const pending = this.pending.get(ws) as Map<number, Pending>;
    const id = ++this.nextId;
    return new Promise<SessionReply>((resolve, reject) => {
      const timeoutMs = opts.timeoutMs ?? 15_000;
      const timer = this.deps.clock.setTimeout(() => {
        settle();
        // No answer in time over an open socket: it is probably half-open; start afresh.
        ws.terminate();
        reject(new Error(`no answer over the session within ${timeoutMs} ms`));
      }, timeoutMs);
      const onAbort = (): void => {
        settle();
        reject(opts.signal?.reason);
      };
      const settle = (): void => {
        pending.delete(id);
        this.deps.clock.clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
      };
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      pending.set(id, {
        resolve: (reply) => {
          settle();
          resolve(reply);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      });
      ws.send(
        JSON.stringify({ id, op: call.op, ...(call.taskId ? { taskId: call.taskId } : {}), body: call.body }),
      );
    });
  }

  private open(session: Session): void {
    const { http, logger } = this.deps;
    const url = `${http.baseUrl.replace(/^http/, "ws")}${sessionPath(session.id)}`;
    const ws = this.deps.connect
      ? this.deps.connect(url, session.token)
      : new WebSocket(url, SESSION_SUBPROTOCOL, {
          headers: { authorization: `Bearer ${session.token}` },
          perMessageDeflate: false,
        });
    this.ws = ws;
    const pending = new Map<number, Pending>();
    this.pending.set(ws, pending);
    ws.on("open", () => {
      if (this.ws !== ws) return;
      this.openFor = session;
      this.failures = 0;
      logger.debug({ agentId: session.id }, "agent session open");
    });
    ws.on("message", (data) => {
      let reply: SessionReply;
      try {
        reply = JSON.parse(data.toString()) as SessionReply;
      } catch {
        return;
      }
      if (typeof reply.re === "number") pending.get(reply.re)?.resolve(reply);
    });
    ws.on("error", (error) => logger.debug({ err: errorMessage(error) }, "agent session error"));
    ws.on("close", (code) => {
      if (this.ws === ws) {
        this.ws = undefined;
        this.openFor = undefined;
      }
      for (const p of [...pending.values()]) p.reject(new Error(`session closed (${code})`));
      // 4404: the daemon forgot the agent; the next heartbeat (over HTTP) says so and re-registers,
      // which opens a session for the new registration.
      if (this.wanted !== session || code === SESSION_CLOSE.gone) return;
      const delay = RECONNECT_DELAYS_MS[Math.min(this.failures++, RECONNECT_DELAYS_MS.length - 1)] as number;
      logger.debug({ agentId: session.id, code, delayMs: delay }, "agent session closed; reconnecting");
      if (delay === 0) this.open(session);
      else this.retryTimer = this.deps.clock.setTimeout(() => this.reopen(session), delay);
    });
  }

  private reopen(session: Session): void {
    this.retryTimer = undefined;
    if (this.wanted === session && !this.ws) this.open(session);
  }

  /** Stops wanting a session: sends the goodbye on an open one and closes it. */
  private goodbye(): void {
    this.wanted = undefined;
    if (this.retryTimer !== undefined) this.deps.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const ws = this.ws;
    this.ws = undefined;
    this.openFor = undefined;
    if (!ws) return;
    if (ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify({ op: "bye" }));
      ws.close(SESSION_CLOSE.goodbye, "goodbye");
    } else ws.terminate();
  }
}
