// `npm run bench:ws [-- --clients N --events N]`: the WebSocket fan-out scenario alone
// (bench/scenarios/ws-fanout.ts; `npm run bench` runs it too and puts it in the results table):
// N clients (default 1,000) on /api/dashboard/ws/tasks, 200 events one every 20 ms, delivery latency
// against a bare `ws` broadcast and the Redis pub/sub round trip, measured in the same run.

import type { Distribution } from "./scenarios/ws-fanout.ts";
import { wsFanout } from "./scenarios/ws-fanout.ts";
import { killAllChildren } from "./support/children.ts";
import { runEmergencyCleanups } from "./support/emergency.ts";
import { REDIS_URL, round } from "./support/services.ts";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  const value = i > 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} needs a positive integer`);
  return value;
};
const CLIENTS = arg("clients", 1_000);
const EVENTS = arg("events", 200);

// Ctrl-C: stop the children and drop the namespace (startBenchDaemon registered its cleanup).
process.once("SIGINT", () => {
  void runEmergencyCleanups().finally(() => {
    killAllChildren();
    process.exit(130);
  });
});
console.log(`ws fan-out: ${CLIENTS} clients, ${EVENTS} events (after 10 warm-up), one per 20 ms`);
console.log(`Redis ${REDIS_URL}`);
const r = await wsFanout({ clients: CLIENTS, events: EVENTS, pubsubSamples: 1_000 });

const cell = (n: number) => String(round(n, 2)).padStart(7);
const row = (name: string, s: Distribution) =>
  `${name.padEnd(34)} ${String(s.n).padStart(7)} ${[s.p50, s.p95, s.p99, s.max].map(cell).join(" ")}`;
console.log("");
console.log(
  `${"delivery latency, ms".padEnd(34)} ${"samples".padStart(7)} ${["p50", "p95", "p99", "max"].map((h) => h.padStart(7)).join(" ")}`,
);
console.log(row("overseer (API → bus → Redis → ws)", r.overseer));
console.log(row("baseline: bare ws broadcast", r.bareWs));
console.log(row("baseline: Redis pub/sub round trip", r.redisPubSub));
console.log("");
console.log(
  `overseer / bare ws (divisor floored at 1 ms, the clock's resolution): p50 ${round(r.ratios.p50 ?? 0, 2)}×, p95 ${round(r.ratios.p95 ?? 0, 2)}×, p99 ${round(r.ratios.p99 ?? 0, 2)}×`,
);
console.log(`target: p99 < 20 ms at ${CLIENTS} clients → ${r.overseer.p99 < 20 ? "met" : "NOT met"}`);
process.exit(0);
