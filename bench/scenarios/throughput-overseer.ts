import type pg from "pg";
import { namespaceDb } from "../../test/helpers/namespace-cleanup.ts";
import { perSecond, type Summary, summarize } from "../stats.ts";
import { type Child, nextMessage, send, spawnTs, stopChild, stopFleet } from "../support/children.ts";
import { cpuDelta, cpuSnapshot } from "../support/cpu.ts";
import { type BenchDaemon, startBenchDaemon } from "../support/daemon.ts";
import {
  benchNamespace,
  redisClient,
  redisCounters,
  redisDelta,
  round,
  TOKENS,
} from "../support/services.ts";
import { boundedRun, sleep, until } from "../support/timing.ts";

export interface ThroughputParams {
  /** Tasks (jobs) per phase. */
  tasks: number;
  /** Agent count x slots per agent = the total concurrency the BullMQ worker gets too. */
  agents: number;
  agentConcurrency: number;
  /** Submissions (HTTP requests, Queue.add calls) in flight at once. */
  submitConcurrency: number;
  /** Upper bound of every phase. */
  phaseTimeoutMs: number;
  /** Submissions before phase A on a queue nothing consumes (HTTP path, scripts, JIT). */
  warmup: number;
  /** Pause before phase C, so consumers are idle and waiting. */
  settleMs: number;
}

/** What one system did in the three phases; rates are per second. */
export interface ThroughputSide {
  /** Phase A: N submissions, nothing consuming. */
  submit: { ms: number; perSec: number; latencyMs: Summary };
  /** Phase B: consumers start with N waiting; start command → last completion. */
  drain: { ms: number; perSec: number };
  /** Bulk submit in chunks of 1,000 on a type nothing consumes (POST /api/tasks/batch; Queue.addBulk). */
  bulk?: { ms: number; perSec: number };
  /** Phase C: consumers idle and waiting; first submission → last completion. */
  endToEnd: { ms: number; perSec: number; submitPerSec: number; submitLatencyMs: Summary };
  /** Cost of phase C per task/job: Redis commands and CPU, CPU by process. */
  cost: Record<string, unknown>;
  checks: Record<string, unknown>;
}

/** How long each phase took, as every side measures it (ms; latencies of single submissions). */
export interface PhaseTimings {
  submitMs: number;
  submitLatency: number[];
  bulkMs: number;
  drainMs: number;
  e2eMs: number;
  /** From the first to the last end-to-end submission. */
  e2eSubmitMs: number;
  e2eLatency: number[];
}

/** The phases' figures from their timings: the same rates and summaries for Overseer and every peer. */
export function phaseFigures(tasks: number, t: PhaseTimings) {
  return {
    submit: {
      ms: round(t.submitMs),
      perSec: perSecond(tasks, t.submitMs),
      latencyMs: summarize(t.submitLatency),
    },
    bulk: { ms: round(t.bulkMs), perSec: perSecond(tasks, t.bulkMs) },
    drain: { ms: t.drainMs, perSec: perSecond(tasks, t.drainMs) },
    endToEnd: {
      ms: t.e2eMs,
      perSec: perSecond(tasks, t.e2eMs),
      submitPerSec: perSecond(tasks, t.e2eSubmitMs),
      submitLatencyMs: summarize(t.e2eLatency),
    },
  };
}

const TYPE = "bench.tp";
/** Tasks per bulk request, the same for POST /api/tasks/batch and Queue.addBulk (its most). */
export const BULK_CHUNK = 1_000;

/**
 * Overseer end to end through the agent protocol: the daemon as a child process, SDK agents with
 * zero-work handlers in a load-generator process, submissions over POST /api/tasks from here,
 * completion read from Postgres (the system of record).
 */
export async function overseerThroughput(p: ThroughputParams): Promise<ThroughputSide> {
  const namespace = benchNamespace("tp");
  const daemon = await startBenchDaemon(namespace);
  let fleet: Child | undefined;
  let db: pg.Client | undefined;
  const redis = redisClient();
  try {
    fleet = spawnTs(
      "agent fleet",
      "bench/load/agent-fleet.ts",
      {
        OVERSEER_URL: daemon.url,
        OVERSEER_AGENT_SECRET: TOKENS.agentSecret,
        FLEET_AGENTS: String(p.agents),
        FLEET_CONCURRENCY: String(p.agentConcurrency),
        FLEET_TYPES: TYPE,
      },
      { ipc: true },
    );
    await nextMessage(fleet, (m) => m.type === "loaded", 20_000, "load generator start");
    db = await namespaceDb(namespace);
    const client = db;
    // Polls count what is left (the partial index on unfinished tasks keeps that cheap however long
    // the history grows), then one query reads the last completion time.
    const waitCompleted = async (total: number, what: string) => {
      await until(
        async () => {
          const r = await client.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM tasks WHERE type = $1 AND state <> 'completed'",
            [TYPE],
          );
          return r.rows[0]?.n === 0;
        },
        { timeoutMs: p.phaseTimeoutMs, everyMs: 100, what },
      );
      const r = await client.query<{ n: number; last: Date }>(
        "SELECT count(*)::int AS n, max(finished_at) AS last FROM tasks WHERE type = $1 AND state = 'completed'",
        [TYPE],
      );
      const row = r.rows[0];
      if (row?.n !== total) throw new Error(`expected ${total} completed tasks, found ${row?.n}`);
      return row;
    };
    const submit = (type: string) => async (i: number) => {
      const r = await daemon.api("POST", "/api/tasks", { type, payload: { n: i } });
      if (r.status !== 202)
        throw new Error(`POST /api/tasks answered ${r.status}: ${JSON.stringify(r.body)}`);
    };

    // Warm-up of the HTTP path and BullMQ scripts, on a type no agent handles.
    if (p.warmup > 0) await boundedRun(p.warmup, p.submitConcurrency, submit("bench.warmup"));

    // Phase A: submit only.
    const a0 = performance.now();
    const submitLatency = await boundedRun(p.tasks, p.submitConcurrency, submit(TYPE));
    const submitMs = performance.now() - a0;

    // Bulk submit: the same number of tasks, 1,000 a request, on a type no agent handles.
    const k0 = performance.now();
    for (let i = 0; i < p.tasks; i += BULK_CHUNK) {
      const tasks = Array.from({ length: Math.min(BULK_CHUNK, p.tasks - i) }, (_, j) => ({
        type: "bench.bulk",
        payload: { n: i + j },
      }));
      const r = await daemon.api("POST", "/api/tasks/batch", { tasks });
      if (r.status !== 202)
        throw new Error(`POST /api/tasks/batch answered ${r.status}: ${JSON.stringify(r.body)}`);
    }
    const bulkMs = performance.now() - k0;

    // Phase B: agents start with N queued.
    const b0 = Date.now();
    send(fleet, { type: "start" });
    await nextMessage(fleet, (m) => m.type === "started", 30_000, "agents registered");
    const drained = await waitCompleted(p.tasks, `${p.tasks} queued tasks to complete`);
    const drainMs = drained.last.getTime() - b0;

    // Phase C: agents idle and long-polling; submit and process at once.
    await sleep(p.settleMs);
    const pids = {
      daemon: [daemon.child.proc.pid ?? 0],
      agents: [fleet.proc.pid ?? 0],
      submitter: [process.pid],
    };
    const [r0, c0] = [await redisCounters(redis), cpuSnapshot(pids)];
    const c0At = Date.now();
    const e2eLatency = await boundedRun(p.tasks, p.submitConcurrency, submit(TYPE));
    const submittedAt = Date.now();
    const done = await waitCompleted(2 * p.tasks, `${p.tasks} more tasks to complete`);
    const c1 = cpuSnapshot(pids);
    const r1 = await redisCounters(redis);
    const e2eMs = done.last.getTime() - c0At;

    const states = await client.query<{ state: string; n: number }>(
      "SELECT state, count(*)::int AS n FROM tasks WHERE type = $1 GROUP BY state ORDER BY state",
      [TYPE],
    );
    const attempts = await client.query<{ attempts: number; completions: number }>(
      `SELECT count(*)::int AS attempts, count(*) FILTER (WHERE a.outcome = 'completed')::int AS completions
       FROM task_attempts a JOIN tasks t ON t.id = a.task_id WHERE t.type = $1`,
      [TYPE],
    );
    const stopped = await stopFleet<unknown>(fleet, "agents");
    return {
      ...phaseFigures(p.tasks, {
        submitMs,
        submitLatency,
        bulkMs,
        drainMs,
        e2eMs,
        e2eSubmitMs: submittedAt - c0At,
        e2eLatency,
      }),
      cost: {
        redis: redisDelta(r0, r1, p.tasks),
        cpu: cpuDelta(c0, c1, p.tasks),
      },
      checks: {
        namespace,
        tasksByState: Object.fromEntries(states.rows.map((r) => [r.state, r.n])),
        attempts: attempts.rows[0]?.attempts,
        completions: attempts.rows[0]?.completions,
        agentStats: stopped.stats,
        agentErrors: stopped.errors,
        daemonProblems: daemon.problems(),
      },
    };
  } finally {
    if (fleet) await stopChild(fleet.proc, "SIGKILL");
    await db?.end().catch(() => {});
    redis.disconnect();
    await closeDaemon(daemon);
  }
}

async function closeDaemon(daemon: BenchDaemon): Promise<void> {
  await daemon.close().catch((error) => console.error(`cleanup of ${daemon.namespace} failed:`, error));
}
