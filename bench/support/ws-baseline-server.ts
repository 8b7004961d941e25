// Baseline for bench/ws-fanout.ts: a bare `ws` server (no Redis, no auth, no filters) in its own
// process that broadcasts one given payload to every connected client when told over IPC, stamped
// with `at` just before the broadcast, serialised once, like the daemon's fan-out.
import { WebSocketServer } from "ws";

const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
wss.on("listening", () => {
  const address = wss.address();
  process.send?.({ type: "listening", port: typeof address === "object" && address ? address.port : 0 });
});
process.on("message", (m: { type: string; event?: Record<string, unknown> }) => {
  if (m.type === "emit") {
    const frame = Buffer.from(
      JSON.stringify({ type: "event", id: "0-0", event: { ...m.event, at: Date.now() } }),
    );
    for (const client of wss.clients) client.send(frame, { binary: false });
  } else if (m.type === "stop") {
    for (const client of wss.clients) client.terminate();
    wss.close(() => process.exit(0));
  }
});
process.on("disconnect", () => process.exit(0));
