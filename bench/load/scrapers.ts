// Load generator (child process, IPC): SCRAPERS loops, each GETting SCRAPE_URL (/metrics, no token)
// back to back from {type:"start"} until {type:"stop"}, then answers {type:"stopped", scrapes, ms}:
// the scrapes completed and over how long. Exits when the parent goes away.
const env = process.env;
const url = env["SCRAPE_URL"] ?? "";
const scrapers = Number(env["SCRAPERS"] ?? 32);
const send = (m: Record<string, unknown>) => process.send?.(m);
let running = false;
let scrapes = 0;
let startedAt = 0;
const loops: Promise<void>[] = [];

async function loop(): Promise<void> {
  while (running) {
    try {
      const r = await fetch(url);
      await r.text();
      if (r.ok) scrapes++;
    } catch {
      // A refused or reset scrape is not counted; the loop goes on.
    }
  }
}

process.on("message", (m: { type?: string }) => {
  if (m?.type === "start") {
    running = true;
    startedAt = performance.now();
    for (let i = 0; i < scrapers; i++) loops.push(loop());
    send({ type: "started" });
  }
  if (m?.type === "stop") {
    running = false;
    void Promise.all(loops).then(() => {
      send({ type: "stopped", scrapes, ms: Math.round(performance.now() - startedAt) });
      setImmediate(() => process.exit(0));
    });
  }
});
process.on("disconnect", () => process.exit(1));
send({ type: "loaded" });
