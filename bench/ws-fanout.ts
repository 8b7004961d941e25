// `npm run bench:ws [-- --clients N --events N]`: WebSocket feed fan-out. Starts the daemon (a child
// process), connects N clients (default 1,000; 100 connecting at a time) to /api/dashboard/ws/tasks,
// then submits tasks through the real API one every 20 ms (default 200) and measures, per client
// and event, the time from the event's `at` (stamped by the daemon's bus) to its receipt here:
// bus → XADD → XREAD → fan-out → socket. Baselines in the same run: a bare `ws` server in its own
// process broadcasting the same payload to the same number of clients (no Redis), and the Redis
// pub/sub round trip from this process. Both clocks are Date.now() on one machine (1 ms resolution).
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { summarize } from "./stats.ts";
import { killAllChildren, nextMessage, send, spawnTs } from "./support/children.ts";
import { startBenchDaemon } from "./support/daemon.ts";
import { runEmergencyCleanups } from "./support/emergency.ts";
import { benchNamespace, REDIS_URL, redisClient, round, TOKENS } from "./support/services.ts";
import { sleep, until } from "./support/timing.ts";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  const value = i > 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} needs a positive integer`);
  return value;
};
const CLIENTS = arg("clients", 1_000);
const EVENTS = arg("events", 200);
const WARMUP = 10;
const PACE_MS = 20;
const CONNECT_BATCH = 100;

const AT = Buffer.from('"at":');
const EVENT_FRAME = Buffer.from('{"type":"event"');

function readInt(data: Buffer, from: number): number {
  let n = 0;
  for (let i = from; i < data.length; i++) {
    const c = data[i] as number;
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
  }
  return n;
}

interface Fleet {
  sockets: WebSocket[];
  /** Latencies (ms) of the measured events, every client. */
  samples: number[];
  received: () => number;
  measuring: (on: boolean) => void;
}

/** Connects `count` clients, `CONNECT_BATCH` at a time; each resolves once its first message arrives. */
async function connect(url: string, count: number, headers: Record<string, string>): Promise<Fleet> {
  const sockets: WebSocket[] = [];
  const samples: number[] = [];
  let received = 0;
  let measuring = false;
  for (let start = 0; start < count; start += CONNECT_BATCH) {
    const batch = Array.from({ length: Math.min(CONNECT_BATCH, count - start) }, () => {
      const ws = new WebSocket(url, { headers, perMessageDeflate: false });
      sockets.push(ws);
      return new Promise<void>((resolve, reject) => {
        ws.once("error", reject);
        ws.on("message", (data: Buffer) => {
          const now = Date.now();
          // Cheap on purpose (no JSON.parse): 1,000 clients share this one process, and its cost
          // would be measured as delivery latency. Event frames carry `"at":<ms>` early on.
          const i = data.indexOf(AT);
          if (i > 0 && data.indexOf(EVENT_FRAME) === 0) {
            received++;
            if (measuring) samples.push(now - readInt(data, i + AT.length));
          } else resolve();
        });
        // The baseline server sends no snapshot: open is enough there.
        if (!headers.authorization) ws.once("open", () => resolve());
      });
    });
    await Promise.all(batch);
  }
  return {
    sockets,
    samples,
    received: () => received,
    measuring: (on) => {
      measuring = on;
    },
  };
}

function closeAll(fleet: Fleet): void {
  for (const ws of fleet.sockets) ws.terminate();
}

async function measureOverseer(): Promise<{ samples: number[]; sample: Record<string, unknown> }> {
  const daemon = await startBenchDaemon(benchNamespace("ws"));
  try {
    const url = `${daemon.url.replace(/^http/, "ws")}/api/dashboard/ws/tasks`;
    const fleet = await connect(url, CLIENTS, { authorization: `Bearer ${TOKENS.viewer}` });
    const submit = async () => {
      const r = await daemon.api("POST", "/api/tasks", { type: "ws.bench", payload: {} });
      if (r.status !== 202) throw new Error(`submit: ${r.status}`);
    };
    for (let i = 0; i < WARMUP; i++) {
      await submit();
      await sleep(PACE_MS);
    }
    await until(async () => fleet.received() >= WARMUP * CLIENTS, { timeoutMs: 30_000, what: "warm-up" });
    fleet.measuring(true);
    for (let i = 0; i < EVENTS; i++) {
      await submit();
      await sleep(PACE_MS);
    }
    await until(async () => fleet.received() >= (WARMUP + EVENTS) * CLIENTS, {
      timeoutMs: 60_000,
      what: "every event at every client",
    });
    closeAll(fleet);
    const problems = daemon.problems();
    if (Object.keys(problems).length > 0) console.log("daemon warnings:", problems);
    return {
      samples: fleet.samples,
      sample: { taskId: "00000000-0000-4000-8000-000000000000", taskType: "ws.bench", priority: 0 },
    };
  } finally {
    await daemon.close();
  }
}

async function measureBaseline(event: Record<string, unknown>): Promise<number[]> {
  const server = spawnTs("ws baseline", "bench/support/ws-baseline-server.ts", {}, { ipc: true });
  try {
    const { port } = await nextMessage<{ type: string; port: number }>(
      server,
      (m) => m.type === "listening",
      10_000,
      "listening",
    );
    const fleet = await connect(`ws://127.0.0.1:${port}`, CLIENTS, {});
    const emit = () => send(server, { type: "emit", event: { type: "task.submitted", ...event } });
    for (let i = 0; i < WARMUP; i++) {
      emit();
      await sleep(PACE_MS);
    }
    await until(async () => fleet.received() >= WARMUP * CLIENTS, { timeoutMs: 30_000, what: "warm-up" });
    fleet.measuring(true);
    for (let i = 0; i < EVENTS; i++) {
      emit();
      await sleep(PACE_MS);
    }
    await until(async () => fleet.received() >= (WARMUP + EVENTS) * CLIENTS, {
      timeoutMs: 60_000,
      what: "every baseline message",
    });
    closeAll(fleet);
    return fleet.samples;
  } finally {
    send(server, { type: "stop" });
  }
}

/** PUBLISH → message on a subscriber, both in this process (performance.now, sub-ms). */
async function redisPubSubRoundTrip(n: number): Promise<number[]> {
  const pub = redisClient();
  const sub = redisClient();
  const channel = `bench:ws:${process.pid}`;
  const samples: number[] = [];
  try {
    await sub.subscribe(channel);
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const got = new Promise<void>((resolve) => sub.once("message", () => resolve()));
      await pub.publish(channel, "x".repeat(120));
      await got;
      samples.push(performance.now() - t0);
    }
  } finally {
    pub.disconnect();
    sub.disconnect();
  }
  return samples;
}

// Ctrl-C: stop the children and drop the namespace (startBenchDaemon registered its cleanup).
process.once("SIGINT", () => {
  void runEmergencyCleanups().finally(() => {
    killAllChildren();
    process.exit(130);
  });
});
console.log(
  `ws fan-out: ${CLIENTS} clients, ${EVENTS} events (after ${WARMUP} warm-up), one per ${PACE_MS} ms`,
);
console.log(`Redis ${REDIS_URL}`);
const overseer = await measureOverseer();
const baseline = await measureBaseline(overseer.sample);
const pubsub = await redisPubSubRoundTrip(1_000);

const o = summarize(overseer.samples);
const b = summarize(baseline);
const p = summarize(pubsub);
const pct = (samples: number[], q: number) => {
  const sorted = [...samples].sort((x, y) => x - y);
  return sorted[Math.max(0, Math.ceil((q / 100) * sorted.length) - 1)] as number;
};
const row = (name: string, s: number[], n: number) =>
  `${name.padEnd(34)} ${String(n).padStart(7)} ${[50, 95, 99].map((q) => String(round(pct(s, q), 2)).padStart(7)).join(" ")} ${String(round(pct(s, 100), 2)).padStart(7)}`;
console.log("");
console.log(
  `${"delivery latency, ms".padEnd(34)} ${"samples".padStart(7)} ${"p50".padStart(7)} ${"p95".padStart(7)} ${"p99".padStart(7)} ${"max".padStart(7)}`,
);
console.log(row("overseer (API → bus → Redis → ws)", overseer.samples, o.n));
console.log(row("baseline: bare ws broadcast", baseline, b.n));
console.log(row("baseline: Redis pub/sub round trip", pubsub, p.n));
const ratioOf = (q: number) => {
  const base = Math.max(1, pct(baseline, q));
  return round(pct(overseer.samples, q) / base, 2);
};
console.log("");
console.log(
  `overseer / bare ws (divisor floored at 1 ms, the clock's resolution): p50 ${ratioOf(50)}×, p95 ${ratioOf(95)}×, p99 ${ratioOf(99)}×`,
);
console.log(
  `target: p99 < 20 ms at ${CLIENTS} clients → ${pct(overseer.samples, 99) < 20 ? "met" : "NOT met"}`,
);
process.exit(0);
