import { createServer } from "node:net";

/**
 * Asks the OS for a free TCP port on 127.0.0.1 by binding port 0 and releasing it.
 * There is a small window in which another process could take the port before the
 * caller binds it; callers that spawn a server should treat a bind failure as retryable.
 */
export function getFreePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("could not determine a free port"));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}
