import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
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
import type { RefuseReason } from "../../daemon/feeds/close-codes.ts";
import type { FeedHub } from "../../daemon/feeds/feed-hub.ts";
import { type Authenticator, allows } from "../auth.ts";
import { refuse, tokenOf } from "./upgrade-replies.ts";

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
  /** Open feed connections allowed on this replica: in all, and per token (one viewer cannot take them all). */
  limits: { total: number; perToken: number };
  /** Told of each upgrade refused at a cap (the metric). */
  onRefused: (reason: RefuseReason) => void;
}

/** Seconds a refused client is told to wait: connections free up as others close. */
const FULL_RETRY_AFTER_S = 5;

/**
 * Serves the feeds on the HTTP server's `upgrade` event. Every check happens before the handshake:
 * an unknown path is 404, a draining daemon 503, an Origin outside the allow-list 403, a missing or
 * unknown token 401, a token below viewer 403, a bad filter or resume id 400 (any query parameter
 * but the filter keys and `lastEventId` is a bad filter), a token or replica at its connection cap
 * 429 with Retry-After; each as a plain HTTP response with the usual error body, and no socket.
 */
export function feedSockets(deps: FeedSocketDeps): {
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): void;
} {
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: MAX_CLIENT_MESSAGE_BYTES,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  const anyOrigin = deps.allowedOrigins.includes("*");
  const origins = new Set(deps.allowedOrigins);
  // Open connections by token (the token itself is the key: the authenticator holds the same
  // strings, and a signed agent token is per agent); the replica's total is the hub's.
  const openByToken = new Map<string, number>();

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    const url = new URL(req.url ?? "/", "http://localhost");
    const feed = url.pathname.startsWith(FEED_PATH_PREFIX) ? url.pathname.slice(FEED_PATH_PREFIX.length) : "";
    if (!(FEED_NAMES as readonly string[]).includes(feed)) {
      return refuse(socket, "OVS_ERR_ROUTE_NOT_FOUND", `no feed at ${url.pathname}`);
    }
    if (!deps.accepting() || deps.hub.isStopping) {
      return refuse(socket, "OVS_ERR_SHUTTING_DOWN", "the daemon is draining");
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !anyOrigin && !origins.has(origin) && !sameOrigin(origin, req.headers.host)) {
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

    const mine = openByToken.get(token) ?? 0;
    const open = deps.hub.connections();
    if (mine >= deps.limits.perToken || open >= deps.limits.total) {
      const tokenCap = mine >= deps.limits.perToken;
      deps.onRefused(tokenCap ? "token_cap" : "replica_cap");
      const which = tokenCap
        ? `this token holds ${mine} feed connections (OVERSEER_WS_MAX_CLIENTS_PER_TOKEN)`
        : `this replica holds ${open} feed connections (OVERSEER_WS_MAX_CLIENTS)`;
      return refuse(socket, "OVS_ERR_TOO_MANY_FEEDS", `${which}: close one first`, FULL_RETRY_AFTER_S);
    }

    // The handshake completes synchronously, so no other upgrade can pass the check in between.
    wss.handleUpgrade(req, socket, head, (ws) => {
      openByToken.set(token, (openByToken.get(token) ?? 0) + 1);
      ws.once("close", () => {
        const left = (openByToken.get(token) ?? 1) - 1;
        if (left > 0) openByToken.set(token, left);
        else openByToken.delete(token);
      });
      serve(ws, deps.hub, feed as FeedName, parsed.filter, parsed.since);
    });
  }
  return { upgrade, close: () => wss.close() };
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

/**
 * A page the daemon served itself (the console at /ui) opens feeds from the daemon's own origin: that
 * is not the cross-site use the allow-list guards against, so it needs no entry. Compared on host and
 * port as the browser sent them (`Origin` against `Host`); behind a proxy that rewrites `Host`, list
 * the public origin in OVERSEER_WS_ALLOWED_ORIGINS.
 */
export function sameOrigin(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  try {
    const o = new URL(origin);
    return (o.protocol === "http:" || o.protocol === "https:") && o.host === host.toLowerCase();
  } catch {
    return false;
  }
}
