// `npm run bench`: runs every scenario beside its baseline on this machine, prints the results,
// writes bench/results/latest.json and regenerates the results block of docs/performance.md.
// Settings: see bench/config.ts (BENCH_TASKS, BENCH_REASSIGN_SAMPLES, BENCH_FULL, ...).
// `npm run bench -- <scenario>...` runs only the named scenarios and prints them (nothing is
// written): `pipeline-runs`, `eta-accuracy`, or `pipelines` for both (settings: BENCH_PIPELINE_*,
// BENCH_ETA_*); `fleet-10k`, `ws-fanout`, `leader-failover`, or `scale` for the three (settings:
// BENCH_AGENTS_10K, BENCH_FLEET_*, BENCH_WS_*, BENCH_FAILOVER_SAMPLES, BENCH_LEADER_LEASE_MS);
// `throughput`: Overseer, raw BullMQ, a bare Postgres SKIP LOCKED queue and graphile-worker, one task
// per submit and bulk, with the cost per task (settings: BENCH_TASKS, BENCH_AGENTS,
// BENCH_AGENT_CONCURRENCY, BENCH_SUBMIT_CONCURRENCY);
// `scrape-storm`: a dashboard read alone and under parallel /metrics scrapers (BENCH_STORM_*);
// `reassign-sessions`: crash → task claimed elsewhere, SDK agents on sessions (also under a backlog
// of BENCH_REASSIGN_BACKLOG tasks) beside HTTP heartbeats and raw BullMQ at 250 ms / 750 ms
// (BENCH_REASSIGN_SAMPLES, BENCH_REASSIGN_BUDGET_S); `session-fleet`: BENCH_SESSION_AGENTS (10,000)
// agents on sessions at 1 Hz against one daemon for BENCH_SESSION_WINDOW_S (20), beside the
// heartbeat script's redis-benchmark ceiling (BENCH_REDIS_REQUESTS); `registration`:
// BENCH_REGISTER_AGENTS (10,000) registrations, BENCH_REGISTER_CONCURRENCY (64) in flight, beside a
// raw Postgres registry.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type BenchConfig, benchConfig, type PipelineBenchConfig, pipelineBenchConfig } from "./config.ts";
import { describeMachine } from "./machine.ts";
import { costTable, machineLine, resultsMarkdown, throughputTable, updateDoc, writeJson } from "./report.ts";
import { type ScaleResults, scaleMarkdown } from "./report-scale.ts";
import { etaAccuracy, etaMarkdown } from "./scenarios/eta-accuracy.ts";
import { fleet10k } from "./scenarios/fleet-10k.ts";
import { leaderFailover } from "./scenarios/leader-failover.ts";
import { pipelineRuns, pipelineRunsMarkdown } from "./scenarios/pipeline-runs.ts";
import { reassignSessions, reassignSessionsMarkdown } from "./scenarios/reassign-sessions.ts";
import { registration, registrationMarkdown } from "./scenarios/registration.ts";
import { scrapeStorm, scrapeStormMarkdown } from "./scenarios/scrape-storm.ts";
import { sessionFleet, sessionFleetMarkdown } from "./scenarios/session-fleet.ts";
import { wsFanout } from "./scenarios/ws-fanout.ts";
import { runSuite } from "./suite.ts";
import { killAllChildren } from "./support/children.ts";
import { runEmergencyCleanups } from "./support/emergency.ts";
import { throughputScenario } from "./throughput.ts";

const RESULTS = fileURLToPath(new URL("./results/latest.json", import.meta.url));
const DOC = fileURLToPath(new URL("../docs/performance.md", import.meta.url));
const BIOME = fileURLToPath(new URL("../node_modules/.bin/biome", import.meta.url));

/** Formats what the run wrote the way `npm run lint` expects (JSON arrays, Markdown tables). */
function format(files: string[]): void {
  const r = spawnSync(BIOME, ["format", "--write", ...files], { encoding: "utf8" });
  if (r.status !== 0)
    process.stderr.write(`[bench] biome format failed (lint may complain): ${r.stderr || r.error}\n`);
}

const NONE: ScaleResults = { fleet: null, wsFanout: null, pipelineRuns: null, failover: null };
/** A scale scenario's rows as they appear in the results table; throws when its settings skip it. */
function needs<T>(value: T | null, variable: string): T {
  if (value === null) throw new Error(`skipped by its settings (${variable} is 0)`);
  return value;
}

/** The scenarios `npm run bench -- <name>` selects; each prints its own Markdown. */
const SELECTABLE: Record<
  string,
  { title: string; run: (c: PipelineBenchConfig, b: BenchConfig) => Promise<string> }
> = {
  throughput: {
    title:
      "Throughput: Overseer beside raw BullMQ, a Postgres SKIP LOCKED queue and graphile-worker, one task per submit and bulk",
    run: async (_, b) => {
      // Each system on its own: one that fails is reported (exit code 1) and leaves its columns empty.
      const t = await throughputScenario(b.throughput, async (what, fn) => {
        process.stderr.write(`[bench] ${what} …\n`);
        try {
          return await fn();
        } catch (error) {
          process.stderr.write(`[bench] ${what}: ${(error as Error)?.stack ?? String(error)}\n`);
          process.exitCode = 1;
          return null;
        }
      });
      const nproc = (await describeMachine()).nproc;
      return `${throughputTable(t)}\n\n${costTable(t, nproc)}`;
    },
  },
  "session-fleet": {
    title:
      "10,000 agents on sessions at 1 Hz on one replica, beside the heartbeat script's redis-benchmark ceiling",
    run: async (_, b) => sessionFleetMarkdown(await sessionFleet(b.sessionFleet)),
  },
  "reassign-sessions": {
    title:
      "A crashed agent's task, claimed elsewhere: SDK agents on sessions, on HTTP heartbeats, and raw BullMQ",
    run: async (_, b) => {
      const first = b.reassign[0] as { heartbeatMs: number; deadAfterMs: number };
      const run = await reassignSessions(
        {
          ...first,
          samples: b.reassignSamples,
          budgetMs: b.reassignBudgetMs,
          backlog: Math.max(1, b.reassignBacklog),
          jitter: b.reassignJitter,
        },
        async (what, fn) => {
          process.stderr.write(`[bench] ${what} …\n`);
          return fn();
        },
      );
      return reassignSessionsMarkdown(run);
    },
  },
  registration: {
    title: "Registering 10,000 agents, beside a raw Postgres registry writing the same rows",
    run: async (_, b) => registrationMarkdown(await registration(b.registration)),
  },
  "scrape-storm": {
    title: "One caller must not starve the others: a dashboard read under parallel /metrics scrapers",
    run: async (_, b) => scrapeStormMarkdown(await scrapeStorm(b.scrapeStorm)),
  },
  "pipeline-runs": {
    title: "Pipeline runs: execute latency under load, time to completion",
    run: async (c) => pipelineRunsMarkdown(await pipelineRuns(c.runs)),
  },
  "eta-accuracy": {
    title: "Pipeline ETA accuracy",
    run: async (c) => etaMarkdown(await etaAccuracy(c.eta)),
  },
  "fleet-10k": {
    title: "Fleet: heartbeats, CPU, /metrics, dashboard reads, RSS",
    run: async (_, b) =>
      scaleMarkdown({ ...NONE, fleet: await fleet10k(needs(b.fleet, "BENCH_AGENTS_10K")) }),
  },
  "ws-fanout": {
    title: "WebSocket fan-out",
    run: async (_, b) =>
      scaleMarkdown({ ...NONE, wsFanout: await wsFanout(needs(b.wsFanout, "BENCH_WS_EVENTS")) }),
  },
  "leader-failover": {
    title: "Leader failover",
    run: async (_, b) =>
      scaleMarkdown({ ...NONE, failover: await leaderFailover(needs(b.failover, "BENCH_FAILOVER_SAMPLES")) }),
  },
};
const GROUPS: Record<string, string[]> = {
  pipelines: ["pipeline-runs", "eta-accuracy"],
  scale: ["fleet-10k", "ws-fanout", "leader-failover"],
};

/** The selected scenarios, in order, without repeats; throws on an unknown name. */
function selection(args: string[]): string[] {
  const names = args.flatMap((a) => GROUPS[a] ?? [a]);
  const unknown = names.filter((n) => !(n in SELECTABLE));
  if (unknown.length > 0) {
    const known = [...Object.keys(SELECTABLE), ...Object.keys(GROUPS)].join(", ");
    throw new Error(`unknown scenario(s): ${unknown.join(", ")} (known: ${known})`);
  }
  return [...new Set(names)];
}

async function runSelected(names: string[], bench: BenchConfig, log: (line: string) => void): Promise<void> {
  const config = pipelineBenchConfig();
  process.stdout.write(`\nMachine: ${machineLine(await describeMachine())}.\n`);
  for (const name of names) {
    const scenario = SELECTABLE[name];
    if (!scenario) continue;
    const t0 = Date.now();
    log(`${name} …`);
    try {
      const markdown = await scenario.run(config, bench);
      log(`${name}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      process.stdout.write(`\n### ${scenario.title}\n\n${markdown}\n`);
    } catch (error) {
      log(`${name}: ${(error as Error)?.stack ?? String(error)}`);
      process.exitCode = 1;
    }
  }
}

async function main(): Promise<void> {
  const selected = selection(process.argv.slice(2).filter((a) => a !== "--"));
  const config = benchConfig();
  let interrupted = false;
  const interrupt = (signal: string) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n[bench] ${signal}: stopping children and dropping bench data …\n`);
    killAllChildren();
    void runEmergencyCleanups().finally(() => process.exit(130));
  };
  process.on("SIGINT", () => interrupt("SIGINT"));
  process.on("SIGTERM", () => interrupt("SIGTERM"));

  const t0 = Date.now();
  const log = (line: string) =>
    process.stderr.write(`[bench +${String(Math.round((Date.now() - t0) / 1000)).padStart(3)} s] ${line}\n`);
  if (selected.length > 0) return runSelected(selected, config, log);
  const results = await runSuite(config, log);

  process.stdout.write(`\n${resultsMarkdown(results)}\n\n`);
  writeJson(RESULTS, results);
  process.stdout.write(`wrote ${RESULTS}\n`);
  if (results.errors.length === 0) {
    updateDoc(DOC, results);
    format([RESULTS, DOC]);
    process.stdout.write(`updated ${DOC}\n`);
  } else {
    format([RESULTS]);
    process.stdout.write(`${results.errors.length} scenario(s) failed: docs/performance.md left as it was\n`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  process.stderr.write(`[bench] failed: ${(error as Error)?.stack ?? error}\n`);
  killAllChildren();
  void runEmergencyCleanups().finally(() => process.exit(1));
});
