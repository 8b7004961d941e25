// Load generator (child process, IPC): FLEET_AGENTS simulated agents that only heartbeat, each over
// its own agent session (one WebSocket per agent, docs/agent-protocol.md "Sessions"), each at
// FLEET_HZ, spread evenly over the period (agent i is due at i / (agents × hz) s into each period; a
// tick every few ms sends every heartbeat that has come due). An agent whose previous heartbeat is
// still unanswered skips its turn (counted in `skipped`): the offered rate never exceeds the target,
// and what the daemon could not take shows as a lower achieved rate. Latency is timed from the
// frame handed to the socket to its answer parsed here (this process's event loop is in it too).
// Messages from the parent (the same protocol as heartbeat-fleet.ts):
//   {type:"register"} → registers every agent over HTTP (FLEET_REGISTER_CONCURRENCY at a time, agent
//                       secret) and opens its session right after, heartbeating those already open
//                       meanwhile (default dead-after is 3 s); answers {type:"registered", agents, ms}
//   {type:"measure"}  → starts a measurement window (resets the counters)
//   {type:"report"}   → answers {type:"report", ...} for the window so far
//   {type:"stop"}     → stops heartbeating, waits for answers in flight, says goodbye on every session
//                       (so the daemon sees no 10,000 deaths by disconnect), answers {type:"stopped"}
// It exits by itself when the parent goes away.
import http from "node:http";
import { monitorEventLoopDelay } from "node:perf_hooks";
import WebSocket from "ws";
import { SESSION_SUBPROTOCOL, type SessionReply, sessionPath } from "../../contract/agent-session.ts";
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
const wsBase = base.origin.replace(/^http/, "ws");
// Registrations only: the heartbeats go over the sessions.
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: registerConcurrency });

const sockets: Array<WebSocket | undefined> = new Array(agents).fill(undefined);
/** 1 while the agent's session is open and not being closed by us. */
const open = new Uint8Array(agents);
const inFlight = new Uint8Array(agents);
/** The id of the agent's heartbeat in flight, and when it was handed to the socket. */
const expected = new Float64Array(agents);
const sentAt = new Float64Array(agents);
let nextId = 1;
let openCount = 0;
let pending = 0;
let stopping = false;

interface Window {
  startedAt: number;
  sent: number;
  ok: number;
  skipped: number;
  errors: Record<string, number>;
  latencies: number[];
  /** Sessions that closed without us asking (the daemon closed them, or the connection broke). */
  closed: number;
  closeCodes: Record<string, number>;
}
const newWindow = (): Window => ({
  startedAt: performance.now(),
  sent: 0,
  ok: 0,
  skipped: 0,
  errors: {},
  latencies: [],
  closed: 0,
  closeCodes: {},
});
let window = newWindow();
let closedTotal = 0;
// This process's own event-loop delay: latency that piles up here is the client's, not the daemon's.
// The histogram records whole intervals between its 10 ms samples: the delay is what exceeds 10 ms.
const LOOP_RESOLUTION_MS = 10;
const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
loop.enable();
const lateMs = (ns: number) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);

const count = (bag: Record<string, number>, key: string) => {
  bag[key] = (bag[key] ?? 0) + 1;
};

/** An answer on agent i's session. Answers to heartbeats sent before the window opened are not counted. */
function onAnswer(i: number, data: WebSocket.RawData): void {
  const now = performance.now();
  const w = window;
  let reply: SessionReply;
  try {
    reply = JSON.parse(data.toString()) as SessionReply;
  } catch {
    count(w.errors, "unparseable answer");
    return;
  }
  if (!inFlight[i] || reply.re !== expected[i]) {
    count(w.errors, `answer to no heartbeat in flight (re ${String(reply.re)})`);
    return;
  }
  inFlight[i] = 0;
  pending--;
  const at = sentAt[i] as number;
  if (at < w.startedAt) return;
  if (reply.status === 200 && "body" in reply) {
    w.ok++;
    w.latencies.push(now - at);
  } else {
    count(w.errors, `${reply.status} ${"error" in reply ? reply.error.code : "no error body"}`);
  }
}

function onClose(i: number, code: number): void {
  if (open[i]) openCount--;
  open[i] = 0;
  sockets[i] = undefined;
  if (inFlight[i]) {
    inFlight[i] = 0;
    pending--;
    if (!stopping) count(window.errors, "session closed before the answer");
  }
  if (stopping) return;
  closedTotal++;
  window.closed++;
  count(window.closeCodes, String(code));
}

/** Opens agent i's session; resolves once it is open, rejects with the refusal (status and body). */
function openSession(i: number, agentId: string, token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${wsBase}${sessionPath(agentId)}`, SESSION_SUBPROTOCOL, {
      headers: { authorization: `Bearer ${token}` },
      perMessageDeflate: false,
      handshakeTimeout: 30_000,
    });
    let opened = false;
    ws.once("open", () => {
      opened = true;
      sockets[i] = ws;
      open[i] = 1;
      openCount++;
      resolve();
    });
    ws.once("unexpected-response", (req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () => {
        req.destroy();
        reject(new Error(`session: HTTP ${res.statusCode} ${body.slice(0, 200)}`));
      });
    });
    ws.on("error", (error) => {
      if (!opened) reject(error);
    });
    ws.on("message", (data) => onAnswer(i, data));
    ws.on("close", (code) => {
      if (opened) onClose(i, code);
    });
  });
}

function heartbeat(i: number): void {
  const ws = sockets[i];
  if (!ws || !open[i]) return; // not registered or not open yet (or closed: counted there)
  if (inFlight[i]) {
    window.skipped++;
    return;
  }
  const id = nextId++;
  inFlight[i] = 1;
  expected[i] = id;
  pending++;
  window.sent++;
  sentAt[i] = performance.now();
  ws.send(`{"id":${id},"op":"heartbeat","body":{"status":"active","load":0}}`);
}

const stopPacer = startPacer(agents, hz, heartbeat);

async function register(): Promise<number> {
  const ms = await registerFleet({
    agents,
    concurrency: registerConcurrency,
    namePrefix: "bench-session-",
    post: (path, body, token) => postJson(base, keepAlive, path, body, token),
    secret,
    registered: async (i, reg) => {
      // Two more tries: one refused handshake among 10,000 must not sink the whole run.
      for (let attempt = 1; ; attempt++) {
        try {
          await openSession(i, reg.id, reg.token);
          return;
        } catch (error) {
          if (attempt >= 3) throw error;
          await new Promise((r) => setTimeout(r, 100 * attempt));
        }
      }
    },
  });
  keepAlive.destroy();
  return ms;
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
    offeredPerSec: Math.round((w.sent * 1000) / ms),
    achievedPerSec: Math.round((w.ok * 1000) / ms),
    latencyMs: w.latencies.length > 0 ? summarize(w.latencies) : null,
    loadGeneratorLoopDelayMs: {
      p50: lateMs(loop.percentile(50)),
      p99: lateMs(loop.percentile(99)),
      max: lateMs(loop.max),
    },
    /** Heartbeats sent and not yet answered when the report was made (at most one per agent). */
    unanswered: pending,
    sessionsOpen: openCount,
    closedInWindow: w.closed,
    closeCodes: w.closeCodes,
    closedTotal,
  };
}

async function until(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

async function stop(): Promise<void> {
  stopPacer();
  await until(() => pending === 0, 15_000);
  const unanswered = pending;
  stopping = true;
  for (const ws of sockets) if (ws && ws.readyState === WebSocket.OPEN) ws.send('{"op":"bye"}');
  await until(() => openCount === 0, 10_000);
  for (const ws of sockets) ws?.terminate();
  sendToParent({ type: "stopped", pending: unanswered });
  setImmediate(() => process.exit(0));
}

serveFleet(agents, {
  register,
  measure: () => {
    window = newWindow();
    loop.reset();
  },
  report,
  stop,
});
