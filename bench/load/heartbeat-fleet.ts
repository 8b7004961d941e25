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
import {
  fleetSettings,
  postJson,
  registerFleet,
  sendToParent,
  serveFleet,
  startPacer,
} from "./fleet-load.ts";

const { base, secret, agents, hz, registerConcurrency } = fleetSettings(process.env);
const keepAlive = new http.Agent({
  keepAlive: true,
  maxSockets: Number(process.env["FLEET_SOCKETS"] ?? 256),
});
const post = (path: string, body: Buffer, token: string) => postJson(base, keepAlive, path, body, token);

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

const stopPacer = startPacer(agents, hz, heartbeat);

async function stop(): Promise<void> {
  stopPacer();
  const deadline = Date.now() + 15_000;
  while (pending > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  keepAlive.destroy();
  sendToParent({ type: "stopped", pending });
  setImmediate(() => process.exit(0));
}

serveFleet(agents, {
  register: () =>
    registerFleet({
      agents,
      concurrency: registerConcurrency,
      namePrefix: "bench-hb-",
      post,
      secret,
      registered: (i, reg) => {
        auth[i] = reg.token;
        ids[i] = reg.id;
      },
    }),
  measure: () => {
    window = newWindow();
  },
  report,
  stop,
});
