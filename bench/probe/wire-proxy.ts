import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * A counting TCP proxy on 127.0.0.1: forwards bytes both ways unchanged and hands every complete
 * client→server message to `count`. `parse` splits the client stream into messages (RESP commands
 * for Redis, frontend messages for Postgres) and returns how many bytes it consumed.
 */
export interface WireProxy {
  port: number;
  close(): Promise<void>;
}

export type Parser = (buffer: Buffer, first: boolean, count: (label: string) => void) => number;

export function startProxy(
  targetHost: string,
  targetPort: number,
  parse: Parser,
  count: (label: string) => void,
): Promise<WireProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: targetHost, port: targetPort });
    sockets.add(client);
    sockets.add(upstream);
    let pending: Buffer = Buffer.alloc(0);
    let first = true;
    client.on("data", (chunk: Buffer) => {
      upstream.write(chunk);
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      for (;;) {
        const used = parse(pending, first, count);
        if (used === 0) break;
        first = false;
        pending = pending.subarray(used);
      }
    });
    upstream.on("data", (chunk) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", end);
    upstream.on("error", end);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      resolve({
        port: typeof address === "object" && address ? address.port : 0,
        close: () =>
          new Promise((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/** One RESP command (an array of bulk strings, as every client library sends them), or 0 bytes. */
export function respParser(label: (args: string[]) => string): Parser {
  return (buf, _first, count) => {
    if (buf.length === 0 || buf[0] !== 0x2a /* '*' */) return 0;
    let pos = buf.indexOf("\r\n");
    if (pos < 0) return 0;
    const n = Number(buf.subarray(1, pos).toString());
    pos += 2;
    const args: string[] = [];
    for (let i = 0; i < n; i++) {
      if (buf[pos] !== 0x24 /* '$' */) return 0;
      const eol = buf.indexOf("\r\n", pos);
      if (eol < 0) return 0;
      const len = Number(buf.subarray(pos + 1, eol).toString());
      const start = eol + 2;
      if (buf.length < start + len + 2) return 0;
      // Only the first few arguments matter for labelling; skip copying big payloads.
      if (i < 4) args.push(buf.subarray(start, start + Math.min(len, 200)).toString());
      pos = start + len + 2;
    }
    count(label(args));
    return pos;
  };
}

/** One Postgres frontend message; queries (simple or Parse) are counted by their normalized text. */
export function pgParser(label: (sql: string) => string): Parser {
  /** Prepared statement name → its label (names are per connection; ours are the same on every one). */
  const prepared = new Map<string, string>();
  return (buf, first, count) => {
    if (first) {
      // Startup (or SSLRequest): int32 length, no type byte.
      if (buf.length < 4) return 0;
      const len = buf.readInt32BE(0);
      return buf.length >= len ? len : 0;
    }
    if (buf.length < 5) return 0;
    const type = String.fromCharCode(buf[0] as number);
    const len = buf.readInt32BE(1);
    if (buf.length < 1 + len) return 0;
    const body = buf.subarray(5, 1 + len);
    if (type === "Q") count(label(body.subarray(0, body.indexOf(0)).toString()));
    if (type === "P") {
      const nameEnd = body.indexOf(0);
      const sqlEnd = body.indexOf(0, nameEnd + 1);
      const sql = label(body.subarray(nameEnd + 1, sqlEnd).toString());
      // A named (prepared) statement is parsed once per connection and then only bound and
      // executed: count it at each Bind instead, or every run after the first goes uncounted.
      if (nameEnd === 0) count(sql);
      else prepared.set(body.subarray(0, nameEnd).toString(), sql);
    }
    if (type === "B") {
      const portalEnd = body.indexOf(0);
      const name = body.subarray(portalEnd + 1, body.indexOf(0, portalEnd + 1)).toString();
      const sql = name ? prepared.get(name) : undefined;
      if (sql) count(sql);
    }
    return 1 + len;
  };
}
