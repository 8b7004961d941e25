import { apiUrl, credentials } from "./api.ts";

/**
 * A live WebSocket feed (docs/websocket.md): a snapshot, then events. The token travels as a
 * subprotocol (browsers cannot set headers on a WebSocket; never in the URL). Reconnects with
 * backoff; each connection starts with a fresh snapshot, so nothing missed while away stays missed.
 */
export interface FeedMessage {
  type: "snapshot" | "event" | string;
  id?: string;
  lastEventId?: string;
  data?: unknown;
  event?: { type: string; at: number; [k: string]: unknown };
}

export interface FeedHandle {
  close(): void;
}

export function openFeed(
  feed: "agents" | "tasks" | "coordination" | "system" | "dashboard",
  onMessage: (m: FeedMessage) => void,
  onState: (state: "live" | "reconnecting" | "closed", detail?: string) => void,
): FeedHandle {
  let ws: WebSocket | null = null;
  let closed = false;
  let attempt = 0;
  let timer: number | undefined;
  const connect = () => {
    const url = apiUrl(`/api/dashboard/ws/${feed}`).replace(/^http/, "ws");
    ws = new WebSocket(url, ["overseer.v1", `bearer.${credentials.token() ?? ""}`]);
    ws.onopen = () => {
      attempt = 0;
      onState("live");
    };
    ws.onmessage = (e) => onMessage(JSON.parse(String(e.data)) as FeedMessage);
    ws.onclose = (e) => {
      if (closed) return;
      onState("reconnecting", e.reason || `closed (${e.code})`);
      attempt += 1;
      timer = window.setTimeout(connect, Math.min(10_000, 250 * 2 ** attempt));
    };
  };
  connect();
  return {
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      ws?.close();
      onState("closed");
    },
  };
}
