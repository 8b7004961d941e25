// Baselines for the fleet scenario's read rows (child process, IPC): a bare fastify server on
// 127.0.0.1 (no auth, no hooks, no schemas, no Redis or Postgres) that serves
//   GET /metrics     a bare prom-client Registry holding the same series as a /metrics scrape of
//                    the daemon (one Gauge per sample name, the same labels and values), rendered per
//                    request like the daemon's;
//   GET /json/:name  a JSON body captured from the daemon, serialised per request.
// Messages: {type:"load", metrics: string, json: {name: body}} → {type:"loaded-bodies", series};
// {type:"stop"} → exits. Answers {type:"listening", port} first.
import Fastify from "fastify";
import { Gauge, Registry } from "prom-client";

const registry = new Registry();
let bodies: Record<string, unknown> = {};

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Rebuilds the series of a Prometheus text exposition in `registry`; returns how many. */
function loadExposition(text: string): number {
  registry.clear();
  const byName = new Map<string, Array<{ labels: Record<string, string>; value: number }>>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(LABEL))
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    const raw = m[3] as string;
    const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw);
    const list = byName.get(m[1] as string) ?? [];
    list.push({ labels, value });
    byName.set(m[1] as string, list);
  }
  let series = 0;
  for (const [name, list] of byName) {
    const labelNames = [...new Set(list.flatMap((s) => Object.keys(s.labels)))];
    const gauge = new Gauge({
      name,
      help: `${name} (bench baseline copy)`,
      labelNames,
      registers: [registry],
    });
    for (const s of list) {
      gauge.set(s.labels, s.value);
      series++;
    }
  }
  return series;
}

const app = Fastify({ logger: false });
app.get("/metrics", async (_request, reply) =>
  reply.type(registry.contentType).send(await registry.metrics()),
);
app.get<{ Params: { name: string } }>("/json/:name", async (request, reply) => {
  const body = bodies[request.params.name];
  if (body === undefined) return reply.code(404).send({ error: "no such body" });
  return body;
});

process.on("message", (m: { type: string; metrics?: string; json?: Record<string, unknown> }) => {
  if (m.type === "load") {
    bodies = m.json ?? {};
    const series = loadExposition(m.metrics ?? "");
    process.send?.({ type: "loaded-bodies", series });
  } else if (m.type === "stop") {
    void app.close().finally(() => process.exit(0));
  }
});
process.on("disconnect", () => process.exit(0));
const address = await app.listen({ host: "127.0.0.1", port: 0 });
process.send?.({ type: "listening", port: Number(new URL(address).port) });
