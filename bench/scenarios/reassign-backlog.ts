import type pg from "pg";
import { namespaceDb } from "../../test/helpers/namespace-cleanup.ts";
import { type Child, spawnTs, stopChild } from "../support/children.ts";
import { startBenchDaemon } from "../support/daemon.ts";
import { benchNamespace, TOKENS } from "../support/services.ts";
import { sleep, until } from "../support/timing.ts";
import {
  type AgentTransport,
  killJitter,
  type ReassignParams,
  type ReassignSide,
  sessionsOpen,
  sideResult,
} from "./reassign-overseer.ts";

const WORK = "bench.backlog";

export interface BacklogReassignSide extends ReassignSide {
  /** Tasks of the type still queued at each kill (the rescued task had to pass all of them). */
  queuedAtKill: number[];
}

/**
 * Dead agent → its task claimed elsewhere, with `backlog` tasks of the same type queued. A drainer
 * agent (one slot, no work) takes task after task from the backlog all along. Per sample a fresh
 * holder agent leases one task of the type and holds it; the backlog is topped up to `backlog`;
 * the holder gets SIGKILL at a random moment, and we time kill → the held task's attempt 2 claimed
 * (Postgres claimed_at, same host clock). The rescued task goes back at the head of its queue (the
 * rescue lane), so it must be the drainer's next claim, not the one after a thousand others.
 */
export async function overseerReassignBacklog(
  p: ReassignParams & { transport: AgentTransport; backlog: number },
): Promise<BacklogReassignSide> {
  const namespace = benchNamespace("rb");
  const daemon = await startBenchDaemon(namespace, {
    OVERSEER_HEARTBEAT_INTERVAL_MS: String(p.heartbeatMs),
    OVERSEER_AGENT_DEAD_AFTER_MS: String(p.deadAfterMs),
  });
  const settings = {
    AGENT_TRANSPORT: p.transport,
    backlog: p.backlog,
    OVERSEER_HEARTBEAT_INTERVAL_MS: p.heartbeatMs,
    OVERSEER_AGENT_DEAD_AFTER_MS: p.deadAfterMs,
  };
  const agentEnv = (name: string, workMs: number) => ({
    OVERSEER_URL: daemon.url,
    OVERSEER_AGENT_SECRET: TOKENS.agentSecret,
    AGENT_NAME: name,
    AGENT_CAPABILITIES: WORK,
    AGENT_CONCURRENCY: "1",
    AGENT_WORK_MS: String(workMs),
    AGENT_TRANSPORT: p.transport,
    LOG_LEVEL: "warn",
  });
  let drainer: Child | undefined;
  let holder: Child | undefined;
  let db: pg.Client | undefined;
  const samplesMs: number[] = [];
  const queuedAtKill: number[] = [];
  let discarded = 0;
  const started = Date.now();
  try {
    db = await namespaceDb(namespace);
    const client = db;
    const queued = async () =>
      Number(
        (
          await client.query<{ n: string }>(
            "SELECT count(*) AS n FROM tasks WHERE type = $1 AND state = 'queued'",
            [WORK],
          )
        ).rows[0]?.n ?? 0,
      );
    const topUp = async () => {
      const missing = p.backlog - (await queued());
      for (let left = missing; left > 0; left -= 1_000) {
        const tasks = Array.from({ length: Math.min(1_000, left) }, () => ({ type: WORK, payload: {} }));
        const res = await daemon.api("POST", "/api/tasks/batch", { tasks });
        if (res.status !== 202) throw new Error(`batch submit answered ${res.status}`);
      }
    };
    await topUp();
    drainer = spawnTs("backlog drainer", "sdk/run-agent.ts", agentEnv("bench-drainer", 0));
    for (let i = 0; samplesMs.length < p.samples && discarded <= p.samples; i++) {
      if (samplesMs.length > 0 && Date.now() - started > p.budgetMs) break;
      let holderId = "";
      holder = spawnTs(`backlog holder ${i}`, "sdk/run-agent.ts", agentEnv(`bench-bl-holder-${i}`, 600_000), {
        onLine: (line, stream) => {
          const m = stream === "stdout" ? /^agent \S+ registered (\S+)/.exec(line) : null;
          if (m) holderId = m[1] as string;
        },
      });
      await until(async () => holderId, { timeoutMs: 20_000, what: `holder ${i} registration` });
      const held = await until(
        async () => {
          const row = (
            await client.query<{ task_id: string }>(
              "SELECT task_id FROM task_attempts WHERE agent_id = $1 AND finished_at IS NULL",
              [holderId],
            )
          ).rows[0];
          // The drainer may have emptied a small backlog while the holder started: refill it.
          if (!row && (await queued()) === 0) await topUp();
          return row?.task_id;
        },
        { timeoutMs: 10_000, everyMs: 10, what: `holder ${i} to lease a task` },
      );
      if (p.transport === "session") await sessionsOpen(daemon.url, 2);
      await topUp();
      if (p.jitter !== false) await killJitter(p.deadAfterMs);
      const backlogNow = await queued();
      const killedAt = Date.now();
      holder.proc.kill("SIGKILL");
      const second = await until(
        async () =>
          (
            await client.query<{ agent_id: string; claimed_at: Date }>(
              "SELECT agent_id, claimed_at FROM task_attempts WHERE task_id = $1 AND attempt = 2",
              [held],
            )
          ).rows[0],
        { timeoutMs: p.deadAfterMs + 15_000, everyMs: 5, what: `task ${held} claimed again` },
      );
      await stopChild(holder.proc);
      const first = (
        await client.query<{ finished_at: Date | null; outcome: string }>(
          "SELECT finished_at, outcome FROM task_attempts WHERE task_id = $1 AND attempt = 1",
          [held],
        )
      ).rows[0];
      if (first?.outcome !== "lost" || second.agent_id === holderId) {
        throw new Error(`sample ${i}: unexpected attempts ${JSON.stringify({ first, second })}`);
      }
      // Declared dead before it was killed: this sample would time something else.
      if ((first.finished_at?.getTime() ?? killedAt) < killedAt) {
        discarded++;
        continue;
      }
      samplesMs.push(second.claimed_at.getTime() - killedAt);
      queuedAtKill.push(backlogNow);
      await sleep(50);
    }
    return { ...sideResult(namespace, settings, samplesMs, discarded, daemon.problems()), queuedAtKill };
  } finally {
    if (holder) await stopChild(holder.proc);
    if (drainer) await stopChild(drainer.proc);
    await db?.end().catch(() => {});
    await daemon.close().catch((error) => console.error(`cleanup of ${namespace} failed:`, error));
  }
}
