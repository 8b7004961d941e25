// Load generator (child process, IPC): FLEET_AGENTS simulated agents that only heartbeat, over raw
// HTTP with keep-alive connections (at most FLEET_SOCKETS), each at FLEET_HZ, spread evenly over the
// interval (agent i is due at i / (agents × hz) s into each period). An agent whose previous
// heartbeat is still in flight skips its turn (counted in `skipped`): the offered rate never exceeds
// the target, and what the daemon could not take shows as a lower achieved rate. Latency is timed from
// the moment the request has a connection to the end of the answer (the daemon's share); the wait
// for a free connection in this process is timed apart (the client's queue, not the daemon).
// Messages from the parent:
//   {type:"register"} → registers every agent (FLEET_REGISTER_CONCURRENCY at a time, agent secret),
//                       heartbeating those already registered meanwhile (default dead-after is 3 s);
//                       answers {type:"registered", agents, ms}
//   {type:"measure"}  → starts a measurement window (resets the counters)
//   {type:"report"}   → answers {type:"report", ...} for the window so far
//   {type:"stop"}     → stops heartbeating, waits for requests in flight, answers {type:"stopped"}
// It exits by itself when the parent goes away.
import http from "node:http";
import { summarize } from "../stats.ts";

const env = process.env;
const base = new URL(env["OVERSEER_URL"] ?? "http://127.0.0.1:0");
const secret = env["OVERSEER_AGENT_SECRET"] ?? "";
const agents = Number(env["FLEET_AGENTS"] ?? 100);
const hz = Number(env["FLEET_HZ"] ?? 1);
const registerConcurrency = Number(env["FLEET_REGISTER_CONCURRENCY"] ?? 32);
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: Number(env["FLEET_SOCKETS"] ?? 256) });
const send = (m: Record<string, unknown>) => process.send?.(m);

const ids: string[] = new Array(agents).fill("");
const auth: string[] = new Array(agents).fill("");
const inFlight = new Uint8Array(agents);
const BODY = Buffer.from('{"status":"active","load":0}');

interface Window {
  startedAt: number;
  sent: number;
  ok: number;
  skipped: number;
  errors: Record<string, number>;
  latencies: number[];
  waits: number[];
}
const newWindow = (): Window => ({
  startedAt: performance.now(),
  sent: 0,
  ok: 0,
  skipped: 0,
  errors: {},
  latencies: [],
  waits: [],
});
let window = newWindow();
let pending = 0;

function post(
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
        agent: keepAlive,
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

function heartbeat(i: number): void {
  if (!ids[i]) return; // not registered yet
  if (inFlight[i]) {
    window.skipped++;
    return;
  }
  inFlight[i] = 1;
  pending++;
  const w = window;
  w.sent++;
  const t0 = performance.now();
  post(`/api/agents/${ids[i]}/heartbeat`, BODY, auth[i] as string)
    .then(
      (r) => {
        if (r.status === 200) {
          w.ok++;
          w.latencies.push(performance.now() - r.connectedAt);
          w.waits.push(r.connectedAt - t0);
        } else {
          const key = `HTTP ${r.status} ${r.text.slice(0, 80)}`;
          w.errors[key] = (w.errors[key] ?? 0) + 1;
        }
      },
      (error: Error) => {
        const key = error.message.slice(0, 80);
        w.errors[key] = (w.errors[key] ?? 0) + 1;
      },
    )
    .finally(() => {
      inFlight[i] = 0;
      pending--;
    });
}

// The pacer: every tick, send every heartbeat whose slot has come since the last tick.
const slotMs = 1000 / (agents * hz);
const pacerStart = performance.now();
let nextSlot = 0;
let running = true;
const pacer = setInterval(() => {
  if (!running) return;
  const due = Math.floor((performance.now() - pacerStart) / slotMs);
  // A stalled event loop must not turn into a burst of a whole period's heartbeats: at most one period.
  if (due - nextSlot > agents) nextSlot = due - agents;
  for (; nextSlot < due; nextSlot++) heartbeat(nextSlot % agents);
}, 5);

async function register(): Promise<void> {
  const t0 = performance.now();
  let next = 0;
  const lane = async () => {
    for (;;) {
      const i = next++;
      if (i >= agents) return;
      const body = Buffer.from(
        JSON.stringify({
          name: `bench-hb-${i}`,
          role: "bench",
          capabilities: ["bench.fleet"],
          concurrency: 1,
        }),
      );
      const r = await post("/api/agents/register", body, secret);
      if (r.status !== 201) throw new Error(`register: HTTP ${r.status} ${r.text.slice(0, 200)}`);
      const reg = JSON.parse(r.text) as { id: string; token: string };
      auth[i] = reg.token;
      ids[i] = reg.id;
    }
  };
  await Promise.all(Array.from({ length: Math.min(registerConcurrency, agents) }, lane));
  send({ type: "registered", agents, ms: Math.round(performance.now() - t0) });
}

function report(): Record<string, unknown> {
  const w = window;
  const ms = performance.now() - w.startedAt;
  return {
    type: "report",
    windowMs: Math.round(ms),
    targetPerSec: agents * hz,
    sent: w.sent,
    ok: w.ok,
    skipped: w.skipped,
    errors: w.errors,
    achievedPerSec: Math.round((w.ok * 1000) / ms),
    latencyMs: w.latencies.length > 0 ? summarize(w.latencies) : null,
    connectionWaitMs: w.waits.length > 0 ? summarize(w.waits) : null,
  };
}

async function stop(): Promise<void> {
  running = false;
  clearInterval(pacer);
  const deadline = Date.now() + 15_000;
  while (pending > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  keepAlive.destroy();
  send({ type: "stopped", pending });
  setImmediate(() => process.exit(0));
}

process.on("message", (m: { type?: string }) => {
  const fail = (err: unknown) => {
    send({ type: "error", message: (err as Error)?.message ?? String(err) });
    process.exit(1);
  };
  if (m?.type === "register") register().catch(fail);
  if (m?.type === "measure") window = newWindow();
  if (m?.type === "report") send(report());
  if (m?.type === "stop") stop().catch(fail);
});
process.on("disconnect", () => process.exit(1));
send({ type: "loaded" });
