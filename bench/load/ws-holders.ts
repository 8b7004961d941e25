// Load generator (child process, IPC): opens WS_CLIENTS WebSocket clients to WS_URL (100 connecting
// at a time) and holds them open; with WS_TOKEN each sends `Authorization: Bearer` and counts as
// connected once its first message (the feed's snapshot) arrived, without one once it is open (the
// bare `ws` baseline sends nothing). Answers {type:"connected", clients, ms}; reports sockets that
// closed meanwhile in {type:"stopped", closed} after {type:"stop"}. Exits when the parent goes away.
import WebSocket from "ws";

const env = process.env;
const url = env["WS_URL"] ?? "";
const token = env["WS_TOKEN"] ?? "";
const clients = Number(env["WS_CLIENTS"] ?? 100);
const BATCH = 100;
const send = (m: Record<string, unknown>) => process.send?.(m);
const sockets: WebSocket[] = [];
let closed = 0;
let stopping = false;

async function connect(): Promise<void> {
  const t0 = performance.now();
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  for (let start = 0; start < clients; start += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, clients - start) }, () => {
      const ws = new WebSocket(url, { headers, perMessageDeflate: false });
      sockets.push(ws);
      ws.on("close", () => {
        if (!stopping) closed++;
      });
      return new Promise<void>((resolve, reject) => {
        ws.once("error", reject);
        if (token) ws.once("message", () => resolve());
        else ws.once("open", () => resolve());
      });
    });
    await Promise.all(batch);
  }
  send({ type: "connected", clients, ms: Math.round(performance.now() - t0) });
}

process.on("message", (m: { type?: string }) => {
  if (m?.type === "connect")
    connect().catch((err: Error) => {
      send({ type: "error", message: err?.message ?? String(err) });
      process.exit(1);
    });
  if (m?.type === "stop") {
    stopping = true;
    for (const ws of sockets) ws.terminate();
    send({ type: "stopped", closed });
    setImmediate(() => process.exit(0));
  }
});
process.on("disconnect", () => process.exit(1));
send({ type: "loaded" });
