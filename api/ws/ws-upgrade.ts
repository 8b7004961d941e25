import { type IncomingMessage, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { ERROR_CODES, type ErrorCode } from "../../contract/errors.ts";
import {
  BEARER_SUBPROTOCOL_PREFIX,
  FEED_NAMES,
  type FeedFilter,
  type FeedName,
  parseClientMessage,
  parseConnectQuery,
  type ServerMessage,
  SUBPROTOCOL,
} from "../../contract/feed-protocol.ts";
import type { FeedHub } from "../../daemon/feeds/feed-hub.ts";
import { type Authenticator, allows } from "../auth.ts";

export const FEED_PATH_PREFIX = "/api/dashboard/ws/";
/** Largest client frame; subscribe messages are small. */
const MAX_CLIENT_MESSAGE_BYTES = 16 * 1024;

export interface FeedSocketDeps {
  hub: FeedHub;
  auth: Authenticator;
  /** Exact origins allowed to connect from a browser; `*` allows any. */
  allowedOrigins: readonly string[];
  /** False while the daemon is not RUNNING (draining): new connects get 503. */
  accepting: () => boolean;
}

type Server = {
  on(event: "upgrade", fn: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): unknown;
};

/**
 * Serves the feeds on the HTTP server's `upgrade` event. Every check happens before the handshake:
 * an unknown path is 404, a draining daemon 503, an Origin outside the allow-list 403, a missing or
 * unknown token 401, a token below viewer 403, a bad filter or resume id 400 (any query parameter
 * but the filter keys and `lastEventId` is a bad filter); each as a plain HTTP response with
 * the usual error body, and no socket.
 */
export function attachFeedSockets(server: Server, deps: FeedSocketDeps): { close(): void } {
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: MAX_CLIENT_MESSAGE_BYTES,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  const anyOrigin = deps.allowedOrigins.includes("*");
  const origins = new Set(deps.allowedOrigins);

  server.on("upgrade", (req, socket, head) => {
    socket.on("error", () => socket.destroy());
    const url = new URL(req.url ?? "/", "http://localhost");
    const feed = url.pathname.startsWith(FEED_PATH_PREFIX) ? url.pathname.slice(FEED_PATH_PREFIX.length) : "";
    if (!(FEED_NAMES as readonly string[]).includes(feed)) {
      return refuse(socket, "OVS_ERR_ROUTE_NOT_FOUND", `no feed at ${url.pathname}`);
    }
    if (!deps.accepting() || deps.hub.isStopping) {
      return refuse(socket, "OVS_ERR_SHUTTING_DOWN", "the daemon is draining");
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !anyOrigin && !origins.has(origin)) {
      return refuse(
        socket,
        "OVS_ERR_ORIGIN_NOT_ALLOWED",
        `origin ${origin} is not in OVERSEER_WS_ALLOWED_ORIGINS`,
      );
    }
    const token = tokenOf(req);
    if (!token) {
      return refuse(
        socket,
        "OVS_ERR_UNAUTHENTICATED",
        `send Authorization: Bearer <token>, or the subprotocols ${SUBPROTOCOL} and ${BEARER_SUBPROTOCOL_PREFIX}<token>`,
      );
    }
    const who = deps.auth.identify(token);
    if (!who) return refuse(socket, "OVS_ERR_UNAUTHENTICATED", "unknown token");
    if (!allows(who, "viewer"))
      return refuse(socket, "OVS_ERR_FORBIDDEN", "feeds need the viewer role or higher");
    const parsed = parseConnectQuery(url.searchParams);
    if ("problem" in parsed) return refuse(socket, "OVS_ERR_VALIDATION", parsed.problem);

    wss.handleUpgrade(req, socket, head, (ws) => {
      serve(ws, deps.hub, feed as FeedName, parsed.filter, parsed.since);
    });
  });
  return { close: () => wss.close() };
}

function serve(ws: WebSocket, hub: FeedHub, feed: FeedName, filter: FeedFilter, since?: string): void {
  const session = hub.open(ws, feed, { filter, since });
  ws.on("pong", () => {
    session.alive = true;
  });
  ws.on("close", () => hub.closed(session));
  ws.on("error", () => ws.terminate());
  ws.on("message", (data, isBinary) => {
    const parsed = isBinary ? { problem: "send text frames" } : parseClientMessage(data.toString());
    let reply: ServerMessage;
    if ("problem" in parsed) reply = { type: "error", code: "bad_message", message: parsed.problem };
    else if (parsed.type === "subscribe") {
      reply = session.subscribe(parsed.id, parsed.filter)
        ? { type: "subscribed", id: parsed.id, filter: parsed.filter }
        : { type: "error", code: "too_many_subscriptions", message: "unsubscribe one first" };
    } else {
      reply = session.unsubscribe(parsed.id)
        ? { type: "unsubscribed", id: parsed.id }
        : { type: "error", code: "unknown_subscription", message: `no subscription ${parsed.id}` };
    }
    session.control(reply);
  });
}

/** The bearer token: the Authorization header, else a `bearer.<token>` subprotocol (browsers). */
function tokenOf(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith("Bearer ")) return header.slice(7).trim() || undefined;
  const protocols = req.headers["sec-websocket-protocol"];
  if (!protocols) return undefined;
  for (const p of protocols.split(",")) {
    const name = p.trim();
    if (name.startsWith(BEARER_SUBPROTOCOL_PREFIX))
      return name.slice(BEARER_SUBPROTOCOL_PREFIX.length) || undefined;
  }
  return undefined;
}

/** Answers the upgrade request with a plain HTTP error and closes the connection. */
function refuse(socket: Duplex, code: ErrorCode, message: string): void {
  const status = ERROR_CODES[code].status;
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  socket.once("finish", () => socket.destroy());
}
