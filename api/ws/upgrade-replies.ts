import { type IncomingMessage, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { ERROR_CODES, type ErrorCode } from "../../contract/errors.ts";
import { BEARER_SUBPROTOCOL_PREFIX } from "../../contract/feed-protocol.ts";

/** The bearer token: the Authorization header, else a `bearer.<token>` subprotocol (browsers). */
export function tokenOf(req: IncomingMessage): string | undefined {
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
export function refuse(socket: Duplex, code: ErrorCode, message: string, retryAfterS?: number): void {
  const status = ERROR_CODES[code].status;
  const body = JSON.stringify({ error: { code, message } });
  const retry = retryAfterS === undefined ? "" : `Retry-After: ${retryAfterS}\r\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `${retry}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  socket.once("finish", () => socket.destroy());
}
