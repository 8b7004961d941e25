import type pg from "pg";
import { namespaceDb } from "../../test/helpers/namespace-cleanup.ts";
import { sumIn } from "../chaos/prom-text.ts";
import { type Summary, summarize } from "../stats.ts";
import {
  type Child,
  collect,
  type Message,
  nextMessage,
  send,
  spawnTs,
  stopChild,
} from "../support/children.ts";
import { startBenchDaemon } from "../support/daemon.ts";
import { benchNamespace, TOKENS } from "../support/services.ts";
import { sleep, until } from "../support/timing.ts";

export interface ReassignParams {
  /** Overseer heartbeat interval; BullMQ stalledInterval. */
  heartbeatMs: number;
  /** Overseer dead-after; BullMQ lockDuration. */
  deadAfterMs: number;
  samples: number;
  /** Samples stop early once this much time has gone (at least one is always taken). */
  budgetMs: number;
  /** Random wait before each kill (see killJitter); off only in the smoke test, which measures nothing. */
  jitter?: boolean;
}

/** How the SDK agents talk to the daemon (AGENT_TRANSPORT): a crash of a session agent is seen at once. */
export type AgentTransport = "session" | "http";

/**
 * A random wait before each kill, uniform in [0, ms): a crash is not in step with heartbeats, lock
 * renewals or sweeps, so neither may the kill be. The benches use the dead-after / lock duration,
 * a whole multiple of every period involved on both sides.
 */
export function killJitter(ms: number): Promise<void> {
  return sleep(Math.floor(Math.random() * ms));
}

export interface ReassignSide {
  /** The Overseer namespace or BullMQ key prefix used (dropped afterwards). */
  scope: string;
  settings: Record<string, number | string>;
  /** Kill → the other worker holds the task, per sample, ms. */
  samplesMs: number[];
  summary: Summary | null;
  /** Kill → the rescuing handler started (agent/worker clock, same host), per sample, ms. */
  handlerStartMs?: number[];
  /**
   * Samples thrown away because the holder lost its task before the kill (an overloaded machine
   * missed its heartbeats or lock renewals): they time something else. Bounded; see the loop.
   */
  discarded: number;
  note?: string;
}

/**
 * A side's result: the samples, their summary, how many were discarded, and a note of what the
 * daemon logged at warn or above, if anything.
 */
export function sideResult(
  scope: string,
  settings: ReassignSide["settings"],
  samplesMs: number[],
  discarded: number,
  problems: Record<string, number> = {},
): ReassignSide {
  return {
    scope,
    settings,
    samplesMs,
    summary: samplesMs.length > 0 ? summarize(samplesMs) : null,
    discarded,
    ...(Object.keys(problems).length > 0 ? { note: `daemon logged ${JSON.stringify(problems)}` } : {}),
  };
}

const GATE = "bench.gate";
const WORK = "bench.work";
// Enough for the rescuer's next claim to be waiting on the daemon: it is sent the moment the gate
// task's completion is acknowledged.
const SETTLE_MS = 150;

/**
 * Dead agent → task claimed elsewhere. One rescuer agent (one slot) stays registered; per sample a
 * fresh holder agent (run-agent, AGENT_WORK_MS huge) claims a task while the rescuer's slot is taken
 * by a gate task, then the gate is released (rescuer idle and long-polling), the holder gets SIGKILL
 * and we time kill → attempt 2's claimed_at in Postgres (same host clock).
 */
export async function overseerReassign(
  p: ReassignParams & { transport: AgentTransport },
): Promise<ReassignSide> {
  const namespace = benchNamespace("ra");
  const daemon = await startBenchDaemon(namespace, {
    OVERSEER_HEARTBEAT_INTERVAL_MS: String(p.heartbeatMs),
    OVERSEER_AGENT_DEAD_AFTER_MS: String(p.deadAfterMs),
  });
  const settings = {
    AGENT_TRANSPORT: p.transport,
    ...(p.transport === "session"
      ? { OVERSEER_SESSION_GRACE_MS: daemon.env["OVERSEER_SESSION_GRACE_MS"] ?? "150 (default)" }
      : {}),
    OVERSEER_HEARTBEAT_INTERVAL_MS: p.heartbeatMs,
    OVERSEER_AGENT_DEAD_AFTER_MS: p.deadAfterMs,
    "OVERSEER_AGENT_STALE_AFTER_MS (derived)": Math.min(2 * p.heartbeatMs, p.deadAfterMs - 1),
    "OVERSEER_SWEEP_INTERVAL_MS (derived)": Math.max(10, Math.min(250, Math.floor(p.heartbeatMs / 2))),
  };
  let rescuer: Child | undefined;
  let holder: Child | undefined;
  let db: pg.Client | undefined;
  const samplesMs: number[] = [];
  const handlerStartMs: number[] = [];
  const started = Date.now();
  try {
    db = await namespaceDb(namespace);
    const client = db;
    rescuer = spawnTs(
      "rescuer agent",
      "bench/load/rescuer.ts",
      {
        OVERSEER_URL: daemon.url,
        OVERSEER_AGENT_SECRET: TOKENS.agentSecret,
        RESCUER_GATE_TYPE: GATE,
        RESCUER_WORK_TYPE: WORK,
        AGENT_TRANSPORT: p.transport,
      },
      { ipc: true },
    );
    const r = rescuer;
    await nextMessage(r, (m) => m.type === "registered", 20_000, "rescuer registration");
    const submit = async (type: string): Promise<string> => {
      const res = await daemon.api("POST", "/api/tasks", { type, payload: {} });
      if (res.status !== 202) throw new Error(`submit answered ${res.status}`);
      return res.body.id as string;
    };

    const picks = collect<Message & { at: number }>(r, "picked", "taskId");
    let discarded = 0;
    for (let i = 0; samplesMs.length < p.samples && discarded <= p.samples; i++) {
      if (samplesMs.length > 0 && Date.now() - started > p.budgetMs) break;
      // 1. Take the rescuer's only slot.
      const gateHeld = nextMessage(r, (m) => m.type === "gate-held", 10_000, "gate task held");
      await submit(GATE);
      await gateHeld;
      // 2. A fresh holder registers and claims the work task (it is the only free claimant).
      let holderId = "";
      holder = spawnTs(
        `holder ${i}`,
        "sdk/run-agent.ts",
        {
          OVERSEER_URL: daemon.url,
          OVERSEER_AGENT_SECRET: TOKENS.agentSecret,
          AGENT_NAME: `bench-holder-${i}`,
          AGENT_CAPABILITIES: WORK,
          AGENT_CONCURRENCY: "1",
          AGENT_WORK_MS: "600000",
          AGENT_TRANSPORT: p.transport,
          LOG_LEVEL: "warn",
        },
        {
          onLine: (line, stream) => {
            const m = stream === "stdout" ? /^agent \S+ registered (\S+)/.exec(line) : null;
            if (m) holderId = m[1] as string;
          },
        },
      );
      await until(async () => holderId, { timeoutMs: 20_000, what: `holder ${i} registration` });
      const taskId = await submit(WORK);
      await until(
        async () => {
          const t = (await daemon.api("GET", `/api/tasks/${taskId}`)).body;
          return t.state === "active" && t.leaseAgentId === holderId;
        },
        { timeoutMs: 10_000, everyMs: 10, what: `holder ${i} to lease the task` },
      );
      // 3. Free the rescuer: it goes back to long-polling for work.
      const gateDone = nextMessage(r, (m) => m.type === "gate-done", 10_000, "gate task completed");
      send(r, { type: "release" });
      await gateDone;
      await sleep(SETTLE_MS);
      // Both agents' sessions must be open, or the kill would time the heartbeat deadline instead.
      if (p.transport === "session") await sessionsOpen(daemon.url, 2);
      if (p.jitter !== false) await killJitter(p.deadAfterMs);
      // 4. Kill the holder and time the takeover.
      const killedAt = Date.now();
      holder.proc.kill("SIGKILL");
      const pick = await until(async () => picks.get(taskId), {
        timeoutMs: p.deadAfterMs + 15_000,
        everyMs: 5,
        what: `rescuer to pick task ${taskId}`,
      });
      await stopChild(holder.proc);
      const attempts = await client.query<{
        attempt: number;
        agent_id: string;
        claimed_at: Date;
        finished_at: Date | null;
        outcome: string;
      }>(
        "SELECT attempt, agent_id, claimed_at, finished_at, outcome FROM task_attempts WHERE task_id = $1 ORDER BY attempt",
        [taskId],
      );
      const [first, second] = attempts.rows;
      if (
        first?.agent_id !== holderId ||
        first.outcome !== "lost" ||
        !second ||
        second.agent_id === holderId
      ) {
        throw new Error(`sample ${i}: unexpected attempts ${JSON.stringify(attempts.rows)}`);
      }
      // Declared dead before it was killed: this sample would time something else.
      if ((first.finished_at?.getTime() ?? killedAt) < killedAt || pick.at < killedAt) {
        discarded++;
        continue;
      }
      samplesMs.push(second.claimed_at.getTime() - killedAt);
      handlerStartMs.push(pick.at - killedAt);
    }
    if (samplesMs.length < p.samples && discarded > p.samples) {
      throw new Error(
        `${discarded} samples discarded: holders lost their tasks before the kill (machine overloaded?)`,
      );
    }
    return { ...sideResult(namespace, settings, samplesMs, discarded, daemon.problems()), handlerStartMs };
  } finally {
    if (holder) await stopChild(holder.proc);
    if (rescuer) await stopChild(rescuer.proc);
    await db?.end().catch(() => {});
    await daemon.close().catch((error) => console.error(`cleanup of ${namespace} failed:`, error));
  }
}

/** Waits until the daemon holds at least `n` agent sessions (its /metrics gauge). */
export async function sessionsOpen(url: string, n: number): Promise<void> {
  await until(
    async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return (sumIn(text, "overseer_agent_sessions_open") ?? 0) >= n;
    },
    { timeoutMs: 10_000, everyMs: 50, what: `${n} agent sessions open` },
  );
}
