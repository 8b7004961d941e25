import { createServer, request, type Server } from "node:http";
import { connect } from "node:net";

/**
 * A reverse proxy that serves `target` under a path prefix and strips it on the way in, as an
 * ingress serving the daemon at https://ops.example.com/overseer/ would: HTTP requests and WebSocket
 * upgrades alike. Listens on 127.0.0.1; answers 404 outside the prefix.
 */
export async function prefixProxy(
  target: string,
  prefix: string,
): Promise<{ url: string; close(): Promise<void> }> {
  const to = new URL(target);
  const strip = (path: string | undefined): string | null =>
    path?.startsWith(`${prefix}/`) ? path.slice(prefix.length) : null;
  const server: Server = createServer((req, res) => {
    const path = strip(req.url);
    if (path === null) {
      res.writeHead(404).end("outside the prefix");
      return;
    }
    const upstream = request(
      // Host passes through unchanged, as ingress-nginx and most proxies do by default.
      { host: to.hostname, port: to.port, method: req.method, path, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  server.on("upgrade", (req, socket, head) => {
    const path = strip(req.url);
    if (path === null) return socket.destroy();
    const upstream = connect(Number(to.port), to.hostname, () => {
      // Host passes through, so the browser's Origin and the Host the daemon sees agree: the page's
      // feeds count as same-origin (a proxy that rewrites Host needs OVERSEER_WS_ALLOWED_ORIGINS).
      const headers = Object.entries(req.headers)
        .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : v}`)
        .join("\r\n");
      upstream.write(`${req.method} ${path} HTTP/1.1\r\n${headers}\r\n\r\n`);
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on("error", () => socket.destroy());
    socket.on("error", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
