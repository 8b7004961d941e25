import type { Socket } from "node:net";
import WebSocket from "ws";
import { TOKENS } from "../helpers/test-env.ts";

/** A feed message as received (parsed JSON). */
export type FeedMessage = { type: string; [key: string]: any };

export interface FeedClient {
  ws: WebSocket;
  messages: FeedMessage[];
  /** Waits for the first message (from index `from`) matching `match`; returns it. */
  next(match: (m: FeedMessage) => boolean, timeoutMs?: number, what?: string): Promise<FeedMessage>;
  send(message: unknown): void;
  /** Resolves with the close code once the socket closes. */
  closed: Promise<{ code: number; reason: string }>;
  /** The client's TCP socket (to stop reading from it). */
  socket(): Socket;
  close(): void;
}

/** Opens a feed connection with the viewer token (unless other headers are given). */
export async function openFeed(
  baseUrl: string,
  feed: string,
  opts: { query?: string; headers?: Record<string, string>; protocols?: string[] } = {},
): Promise<FeedClient> {
  const url = `${baseUrl.replace(/^http/, "ws")}/api/dashboard/ws/${feed}${opts.query ? `?${opts.query}` : ""}`;
  const headers = opts.headers ?? { authorization: `Bearer ${TOKENS.viewer}` };
  const ws = new WebSocket(url, opts.protocols ?? [], { headers });
  const messages: FeedMessage[] = [];
  const waiters = new Set<() => void>();
  ws.on("message", (data) => {
    messages.push(JSON.parse(data.toString()) as FeedMessage);
    for (const w of [...waiters]) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on("close", (code, reason) => {
      resolve({ code, reason: reason.toString() });
      for (const w of [...waiters]) w();
    });
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  return {
    ws,
    messages,
    closed,
    send: (message) => ws.send(JSON.stringify(message)),
    socket: () => (ws as unknown as { _socket: Socket })._socket,
    close: () => ws.close(),
    next(match, timeoutMs = 10_000, what = "a message") {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find(match);
          if (found) {
            done();
            resolve(found);
          } else if (ws.readyState === WebSocket.CLOSED) {
            done();
            reject(new Error(`socket closed while waiting for ${what}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(`timed out waiting for ${what}; got ${JSON.stringify(messages.map((m) => m.type))}`),
          );
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** The HTTP status an upgrade request gets (101 when it is accepted; the socket is then closed). */
export function upgradeStatus(
  baseUrl: string,
  path: string,
  opts: { headers?: Record<string, string>; protocols?: string[] } = {},
): Promise<{ status: number; body: string; protocol?: string; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, "ws")}${path}`, opts.protocols ?? [], {
      headers: opts.headers ?? {},
    });
    ws.once("open", () => {
      resolve({ status: 101, body: "", protocol: ws.protocol });
      ws.close();
    });
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      const retryAfter = res.headers["retry-after"];
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, retryAfter }));
    });
    ws.once("error", (e) => reject(e));
  });
}

/** Events (type "event") among `messages`, in order. */
export function events(messages: FeedMessage[]): FeedMessage[] {
  return messages.filter((m) => m.type === "event");
}
