import { type Message, nextMessage, send, spawnTs, stopChild } from "../support/children.ts";
import { cpuDelta, cpuSnapshot } from "../support/cpu.ts";
import { boundedRun, sleep } from "../support/timing.ts";
import {
  BULK_CHUNK,
  phaseFigures,
  type ThroughputParams,
  type ThroughputSide,
} from "./throughput-overseer.ts";

/** A Postgres-backed peer's result: a ThroughputSide whose bulk submit is always measured. */
export interface PeerThroughput extends ThroughputSide {
  bulk: { ms: number; perSec: number };
}

/** What one peer plugs into the shared phases; the queue and worker setup stay with the peer. */
export interface PeerDriver {
  /**
   * The worker child, speaking bull-worker.ts's drain protocol: {type:"loaded"} once up,
   * {type:"start"} → {type:"started"}, {type:"notify", total} → {type:"reached", total, at, completed}.
   */
  worker: { name: string; entry: string; env: Record<string, string> };
  /** One submission onto the queue the worker consumes. */
  add(i: number): Promise<void>;
  /** One submission onto a queue nothing consumes (warm-up). */
  warm(i: number): Promise<void>;
  /** `count` submissions in one call onto a queue nothing consumes, numbered from `first`. */
  addBulk(first: number, count: number): Promise<void>;
  /**
   * Removes what warm-up and bulk left, untimed before the drain: BullMQ obliterates its bulk queue
   * there too, and jobs nobody consumes must not sit in front of the measured ones in a fetch index.
   */
  clearUnconsumed(): Promise<void>;
  /** The peer's own checks once every phase is done (what is left in its tables, ...). */
  checks(): Promise<Record<string, unknown>>;
  /**
   * Cost of the end-to-end phase beyond CPU (BullMQ's Redis commands): called just before the
   * phase, its answer just after, and what that returns joins `cost`.
   */
  measureCost?(): Promise<() => Promise<Record<string, unknown>>>;
}

/**
 * The phases every baseline runs (raw BullMQ, the SKIP LOCKED queue, graphile-worker): warm-up, submit
 * only, bulk, drain, end to end with the cost per task of the worker child and this process (the
 * submitter; cpuSnapshot adds every postgres and redis-server process).
 */
export async function peerThroughput(p: ThroughputParams, d: PeerDriver): Promise<PeerThroughput> {
  const worker = spawnTs(d.worker.name, d.worker.entry, d.worker.env, { ipc: true });
  // The child's warnings (a library's own advice included), kept for the checks.
  const warnings: string[] = [];
  worker.proc.on("message", (m: Message) => {
    if (m?.type === "warning" && warnings.length < 10) warnings.push(String(m["message"]));
  });
  try {
    await nextMessage(worker, (m) => m.type === "loaded", 20_000, "worker process start");
    // An error the child reports ends the phase at once instead of at its timeout.
    const reached = async (total: number) => {
      const m = await nextMessage<{ type: string; at: number; completed: number; message?: string }>(
        worker,
        (m) => (m.type === "reached" && m.total === total) || m.type === "error",
        p.phaseTimeoutMs,
        `${total} jobs completed`,
      );
      if (m.type === "error") throw new Error(`${d.worker.name}: ${m.message}\n${worker.tail()}`);
      return m;
    };

    await boundedRun(p.warmup, p.submitConcurrency, d.warm);

    // Phase A: submit only.
    const a0 = performance.now();
    const addLatency = await boundedRun(p.tasks, p.submitConcurrency, d.add);
    const addMs = performance.now() - a0;

    // Bulk: the same number of jobs, BULK_CHUNK a call, onto a queue nothing consumes.
    const k0 = performance.now();
    for (let i = 0; i < p.tasks; i += BULK_CHUNK) await d.addBulk(i, Math.min(BULK_CHUNK, p.tasks - i));
    const bulkMs = performance.now() - k0;
    await d.clearUnconsumed();

    // Phase B: the worker starts with N waiting.
    const drainDone = reached(p.tasks);
    const b0 = Date.now();
    send(worker, { type: "notify", total: p.tasks });
    send(worker, { type: "start" });
    const drainMs = (await drainDone).at - b0;

    // Phase C: the worker is idle and waiting; submit and process at once.
    await sleep(p.settleMs);
    const pids = { worker: [worker.proc.pid ?? 0], submitter: [process.pid] };
    const costEnd = await d.measureCost?.();
    const c0 = cpuSnapshot(pids);
    const e2eDone = reached(2 * p.tasks);
    // Awaited after the submissions; until then a failure must not count as unhandled.
    e2eDone.catch(() => {});
    send(worker, { type: "notify", total: 2 * p.tasks });
    const c0At = Date.now();
    const e2eLatency = await boundedRun(p.tasks, p.submitConcurrency, d.add);
    const submittedAt = Date.now();
    const e2e = await e2eDone;
    const c1 = cpuSnapshot(pids);
    const otherCost = costEnd ? await costEnd() : {};
    const e2eMs = e2e.at - c0At;
    return {
      ...phaseFigures(p.tasks, {
        submitMs: addMs,
        submitLatency: addLatency,
        bulkMs,
        drainMs,
        e2eMs,
        e2eSubmitMs: submittedAt - c0At,
        e2eLatency,
      }),
      cost: { ...otherCost, cpu: cpuDelta(c0, c1, p.tasks) },
      checks: { ...(await d.checks()), completed: e2e.completed, workerWarnings: warnings },
    };
  } finally {
    await stopChild(worker.proc, "SIGKILL");
  }
}
