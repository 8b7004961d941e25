// What the heartbeat load generators share (heartbeat-fleet.ts over HTTP, session-fleet.ts over
// sessions): their settings, the HTTP POST, registration lanes, the pacer that spreads heartbeats
// over the period, and the IPC protocol the parent drives them with.
import http from "node:http";

/** The generator's settings, from its environment. */
export function fleetSettings(env: NodeJS.ProcessEnv) {
  return {
    base: new URL(env["OVERSEER_URL"] ?? "http://127.0.0.1:0"),
    secret: env["OVERSEER_AGENT_SECRET"] ?? "",
    agents: Number(env["FLEET_AGENTS"] ?? 100),
    hz: Number(env["FLEET_HZ"] ?? 1),
    registerConcurrency: Number(env["FLEET_REGISTER_CONCURRENCY"] ?? 32),
  };
}

export const sendToParent = (m: Record<string, unknown>) => process.send?.(m);

/**
 * POSTs a JSON body with a bearer token over `agent`'s connections; answers the status, the text,
 * and when the request got its connection (the wait for one is the client's, not the daemon's).
 */
export function postJson(
  base: URL,
  agent: http.Agent,
  path: string,
  body: Buffer,
  token: string,
): Promise<{ status: number; text: string; connectedAt: number }> {
  return new Promise((resolve, reject) => {
    let connectedAt = 0;
    const req = http.request(
      {
        host: base.hostname,
        port: base.port,
        path,
        method: "POST",
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          "content-length": body.length,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), connectedAt }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.once("socket", () => {
      connectedAt = performance.now();
    });
    req.end(body);
  });
}

/**
 * Registers agents 0 … agents−1 (`concurrency` at a time, the agent secret), each named
 * `<prefix><i>` with role `bench` and the one capability `bench.fleet`; `registered` runs for each
 * before its lane takes the next. Resolves with the time it took, ms.
 */
export async function registerFleet(o: {
  agents: number;
  concurrency: number;
  namePrefix: string;
  post: (path: string, body: Buffer, token: string) => Promise<{ status: number; text: string }>;
  secret: string;
  registered: (i: number, reg: { id: string; token: string }) => void | Promise<void>;
}): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const lane = async () => {
    for (;;) {
      const i = next++;
      if (i >= o.agents) return;
      const body = Buffer.from(
        JSON.stringify({
          name: `${o.namePrefix}${i}`,
          role: "bench",
          capabilities: ["bench.fleet"],
          concurrency: 1,
        }),
      );
      const r = await o.post("/api/agents/register", body, o.secret);
      if (r.status !== 201) throw new Error(`register: HTTP ${r.status} ${r.text.slice(0, 200)}`);
      await o.registered(i, JSON.parse(r.text) as { id: string; token: string });
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, o.agents) }, lane));
  return Math.round(performance.now() - t0);
}

/**
 * The pacer: agent i is due at i / (agents × hz) s into each period; every tick sends every
 * heartbeat whose slot has come since the last tick. Answers a function that stops it.
 */
export function startPacer(agents: number, hz: number, beat: (i: number) => void): () => void {
  const slotMs = 1000 / (agents * hz);
  const start = performance.now();
  let nextSlot = 0;
  const timer = setInterval(() => {
    const due = Math.floor((performance.now() - start) / slotMs);
    // A stalled event loop must not turn into a burst of a whole period's heartbeats: at most one period.
    if (due - nextSlot > agents) nextSlot = due - agents;
    for (; nextSlot < due; nextSlot++) beat(nextSlot % agents);
  }, 5);
  return () => clearInterval(timer);
}

/**
 * The parent's protocol: {type:"register"} → registers, answers {type:"registered", agents, ms};
 * {type:"measure"} opens a window; {type:"report"} answers the report; {type:"stop"} stops (the
 * handler answers {type:"stopped"}). Any failure answers {type:"error"} and exits 1; so does the
 * parent going away. Announces {type:"loaded"}.
 */
export function serveFleet(
  agents: number,
  h: {
    register(): Promise<number>;
    measure(): void;
    report(): Record<string, unknown>;
    stop(): Promise<void>;
  },
): void {
  process.on("message", (m: { type?: string }) => {
    const fail = (err: unknown) => {
      sendToParent({ type: "error", message: (err as Error)?.message ?? String(err) });
      process.exit(1);
    };
    if (m?.type === "register")
      h.register().then((ms) => sendToParent({ type: "registered", agents, ms }), fail);
    if (m?.type === "measure") h.measure();
    if (m?.type === "report") sendToParent(h.report());
    if (m?.type === "stop") h.stop().catch(fail);
  });
  process.on("disconnect", () => process.exit(1));
  sendToParent({ type: "loaded" });
}
