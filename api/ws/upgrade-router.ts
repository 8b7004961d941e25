import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { SESSION_PATH } from "../../contract/agent-session.ts";
import { refuse } from "./upgrade-replies.ts";
import { FEED_PATH_PREFIX } from "./ws-upgrade.ts";

type Server = {
  on(event: "upgrade", fn: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): unknown;
};

export interface UpgradeRoutes {
  /** The dashboard feeds (`/api/dashboard/ws/{feed}`), when this setup serves them. */
  feeds?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Agent sessions (`/api/agents/{id}/session`). */
  session: (agentId: string, req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

/** The one listener on the HTTP server's `upgrade` event: each WebSocket path to its handler, 404 for the rest. */
export function routeUpgrades(server: Server, routes: UpgradeRoutes): void {
  server.on("upgrade", (req, socket, head) => {
    socket.on("error", () => socket.destroy());
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const session = SESSION_PATH.exec(path);
    if (session) return routes.session(session[1] as string, req, socket, head);
    if (path.startsWith(FEED_PATH_PREFIX) && routes.feeds) return routes.feeds(req, socket, head);
    refuse(socket, "OVS_ERR_ROUTE_NOT_FOUND", `no WebSocket endpoint at ${path}`);
  });
}
