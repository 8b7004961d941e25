import WebSocket from "ws";
import { SESSION_SUBPROTOCOL, type SessionReply, sessionPath } from "../../contract/agent-session.ts";

/** A bare session client for tests: send a request, await its answer by id. */
export interface SessionClient {
  ws: WebSocket;
  request(op: string, body?: unknown, taskId?: string): Promise<SessionReply>;
  /** Sends a raw frame and awaits the next answer with `re` (null for unparseable frames). */
  raw(frame: string, re: number | string | null): Promise<SessionReply>;
  /** Resolves with the close code. */
  closed: Promise<number>;
}

export async function openSession(baseUrl: string, agentId: string, token: string): Promise<SessionClient> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, "ws")}${sessionPath(agentId)}`, SESSION_SUBPROTOCOL, {
    headers: { authorization: `Bearer ${token}` },
  });
  const waiting = new Map<number | string | null, (r: SessionReply) => void>();
  ws.on("message", (data) => {
    const reply = JSON.parse(data.toString()) as SessionReply;
    const done = waiting.get(reply.re);
    waiting.delete(reply.re);
    done?.(reply);
  });
  const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  let next = 0;
  const raw = (frame: string, re: number | string | null) =>
    new Promise<SessionReply>((resolve) => {
      waiting.set(re, resolve);
      ws.send(frame);
    });
  return {
    ws,
    closed,
    raw,
    request: (op, body, taskId) => {
      const id = ++next;
      return raw(JSON.stringify({ id, op, body, ...(taskId ? { taskId } : {}) }), id);
    },
  };
}

/** The status an upgrade to an agent's session path gets (101, or the refusal's status and body). */
export function sessionUpgradeStatus(
  baseUrl: string,
  agentId: string,
  token?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(
      `${baseUrl.replace(/^http/, "ws")}${sessionPath(agentId)}`,
      SESSION_SUBPROTOCOL,
      {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      },
    );
    ws.once("open", () => {
      ws.close();
      resolve({ status: 101, body: "" });
    });
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once("error", () => {});
  });
}
