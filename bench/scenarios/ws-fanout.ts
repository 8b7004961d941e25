// WebSocket feed fan-out (also `npm run bench:ws`, bench/ws-fanout.ts): starts the daemon (a child
// process), connects N clients (100 connecting at a time) to /api/dashboard/ws/tasks, then submits
// tasks through the real API one every 20 ms and measures, per client and event, the time from the
// event's `at` (stamped by the daemon's bus) to its receipt here: bus → XADD → XREAD → fan-out →
// socket. Baselines in the same run: a bare `ws` server in its own process broadcasting the same
// payload to the same number of clients (no Redis), and the Redis pub/sub round trip from this
// process. Both clocks are Date.now() on one machine (1 ms resolution).
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { percentile, ratio, type Summary, summarize } from "../stats.ts";
import { nextMessage, send, spawnTs } from "../support/children.ts";
import { feedCaps, startBenchDaemon } from "../support/daemon.ts";
import { benchNamespace, redisClient, TOKENS } from "../support/services.ts";
import { sleep, until } from "../support/timing.ts";

export interface WsFanoutParams {
  clients: number;
  /** Measured events, after WARMUP unmeasured ones. */
  events: number;
  /** Redis PUBLISH → message round trips for the pub/sub row. */
  pubsubSamples: number;
}

/** The usual order statistics plus p95 (the figure `npm run bench:ws` has always printed). */
export type Distribution = Summary & { p95: number };
const distribution = (samples: number[]): Distribution => ({
  ...summarize(samples),
  p95: percentile(samples, 95),
});

export interface WsFanoutResult {
  params: WsFanoutParams;
  /** The daemon's namespace (dropped at the end). */
  namespace: string;
  /** Delivery latency, ms, over every (client, event) pair. */
  overseer: Distribution;
  bareWs: Distribution;
  redisPubSub: Distribution;
  /**
   * Overseer / bare ws. The divisor is floored at 1 ms, the clock's resolution: a bare broadcast on
   * an idle machine often measures 0 ms.
   */
  ratios: { p50: number | null; p95: number | null; p99: number | null };
}

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

async function measureOverseer(
  clients: number,
  events: number,
): Promise<{ namespace: string; samples: number[]; sample: Record<string, unknown> }> {
  const namespace = benchNamespace("ws");
  // Every client uses the viewer token: the caps are raised to the clients measured.
  const daemon = await startBenchDaemon(namespace, feedCaps(clients));
  try {
    const url = `${daemon.url.replace(/^http/, "ws")}/api/dashboard/ws/tasks`;
    const fleet = await connect(url, clients, { authorization: `Bearer ${TOKENS.viewer}` });
    const submit = async () => {
      const r = await daemon.api("POST", "/api/tasks", { type: "ws.bench", payload: {} });
      if (r.status !== 202) throw new Error(`submit: ${r.status}`);
    };
    for (let i = 0; i < WARMUP; i++) {
      await submit();
      await sleep(PACE_MS);
    }
    await until(async () => fleet.received() >= WARMUP * clients, { timeoutMs: 30_000, what: "warm-up" });
    fleet.measuring(true);
    for (let i = 0; i < events; i++) {
      await submit();
      await sleep(PACE_MS);
    }
    await until(async () => fleet.received() >= (WARMUP + events) * clients, {
      timeoutMs: 60_000,
      what: "every event at every client",
    });
    closeAll(fleet);
    const problems = daemon.problems();
    if (Object.keys(problems).length > 0)
      process.stderr.write(`[ws-fanout] daemon warnings: ${JSON.stringify(problems)}\n`);
    return {
      namespace,
      samples: fleet.samples,
      sample: { taskId: "00000000-0000-4000-8000-000000000000", taskType: "ws.bench", priority: 0 },
    };
  } finally {
    await daemon.close();
  }
}

async function measureBaseline(
  clients: number,
  events: number,
  event: Record<string, unknown>,
): Promise<number[]> {
  const server = spawnTs("ws baseline", "bench/support/ws-baseline-server.ts", {}, { ipc: true });
  try {
    const { port } = await nextMessage<{ type: string; port: number }>(
      server,
      (m) => m.type === "listening",
      10_000,
      "listening",
    );
    const fleet = await connect(`ws://127.0.0.1:${port}`, clients, {});
    const emit = () => send(server, { type: "emit", event: { type: "task.submitted", ...event } });
    for (let i = 0; i < WARMUP; i++) {
      emit();
      await sleep(PACE_MS);
    }
    await until(async () => fleet.received() >= WARMUP * clients, { timeoutMs: 30_000, what: "warm-up" });
    fleet.measuring(true);
    for (let i = 0; i < events; i++) {
      emit();
      await sleep(PACE_MS);
    }
    await until(async () => fleet.received() >= (WARMUP + events) * clients, {
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

/** Both sides and the pub/sub round trip, one after the other. */
export async function wsFanout(p: WsFanoutParams): Promise<WsFanoutResult> {
  const overseer = await measureOverseer(p.clients, p.events);
  const baseline = await measureBaseline(p.clients, p.events, overseer.sample);
  const pubsub = await redisPubSubRoundTrip(p.pubsubSamples);
  const o = distribution(overseer.samples);
  const b = distribution(baseline);
  return {
    params: p,
    namespace: overseer.namespace,
    overseer: o,
    bareWs: b,
    redisPubSub: distribution(pubsub),
    ratios: {
      p50: ratio(o.p50, Math.max(1, b.p50)),
      p95: ratio(o.p95, Math.max(1, b.p95)),
      p99: ratio(o.p99, Math.max(1, b.p99)),
    },
  };
}
