// `npm run bench:startup`: the compiled daemon (npm run build's dist/app/main.js under plain node)
// beside the same daemon run from source through tsx: start-up time (spawn → /readyz 200) and idle
// RSS (the peak of 5 readings 1 s apart, after 10 s of idling). Runs alternate, so both modes see
// the same machine; median of BENCH_STARTUP_RUNS (5) each. Results: docs/performance.md.
import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { join, relative } from "node:path";
import { build } from "../tools/build.ts";
import { ROOT } from "./support/children.ts";
import { startBenchDaemon } from "./support/daemon.ts";
import { peakRssMiB } from "./support/proc.ts";
import { sleep } from "./support/timing.ts";

const RUNS = Number(process.env["BENCH_STARTUP_RUNS"] ?? 5);
const OUT = join(ROOT, ".overseer", "bench-startup-build");

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

async function once(entry: string): Promise<{ readyMs: number; idleRssMiB: number }> {
  const started = performance.now();
  const daemon = await startBenchDaemon(`bench_start_${randomUUID().slice(0, 8)}`, {}, entry);
  const readyMs = performance.now() - started;
  try {
    await sleep(10_000);
    const rss = await peakRssMiB(daemon.child.proc.pid as number, 5, 1_000);
    return { readyMs, idleRssMiB: rss ?? Number.NaN };
  } finally {
    await daemon.close();
  }
}

await build(OUT);
const modes = { tsx: "app/main.ts", compiled: relative(ROOT, join(OUT, "app/main.js")) };
const samples: Record<keyof typeof modes, { readyMs: number[]; idleRssMiB: number[] }> = {
  tsx: { readyMs: [], idleRssMiB: [] },
  compiled: { readyMs: [], idleRssMiB: [] },
};
for (let i = 0; i < RUNS; i++) {
  for (const mode of Object.keys(modes) as (keyof typeof modes)[]) {
    const r = await once(modes[mode]);
    samples[mode].readyMs.push(r.readyMs);
    samples[mode].idleRssMiB.push(r.idleRssMiB);
    process.stderr.write(
      `run ${i + 1}/${RUNS} ${mode}: ready ${r.readyMs.toFixed(0)} ms, idle RSS ${r.idleRssMiB} MiB\n`,
    );
  }
}
const row = (mode: keyof typeof modes) => ({
  readyMs: Math.round(median(samples[mode].readyMs)),
  idleRssMiB: median(samples[mode].idleRssMiB),
});
const tsx = row("tsx");
const compiled = row("compiled");
console.log(`Node ${process.version}, median of ${RUNS} alternating runs each`);
console.log("| daemon | start → /readyz 200 (ms) | idle RSS (MiB) |");
console.log("|---|--:|--:|");
console.log(`| compiled (node dist/app/main.js) | ${compiled.readyMs} | ${compiled.idleRssMiB} |`);
console.log(`| from source (node --import tsx app/main.ts) | ${tsx.readyMs} | ${tsx.idleRssMiB} |`);
console.log(
  `| ratio compiled / tsx | ${(compiled.readyMs / tsx.readyMs).toFixed(2)} | ${(compiled.idleRssMiB / tsx.idleRssMiB).toFixed(2)} |`,
);
rmSync(OUT, { recursive: true, force: true });
