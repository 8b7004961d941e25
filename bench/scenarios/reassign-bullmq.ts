import { randomBytes } from "node:crypto";
import { Queue } from "bullmq";
import {
  type Child,
  collect,
  type Message,
  nextMessage,
  send,
  spawnTs,
  stopChild,
} from "../support/children.ts";
import { onEmergency } from "../support/emergency.ts";
import { deleteKeys, dropKeys, REDIS_URL, redisClient } from "../support/services.ts";
import { sleep, until } from "../support/timing.ts";
import { killJitter, type ReassignSide, sideResult } from "./reassign-overseer.ts";

export interface BullReassignParams {
  lockDurationMs: number;
  stalledIntervalMs: number;
  samples: number;
  budgetMs: number;
  jitter?: boolean;
}

const SETTLE_MS = 150;

/**
 * The baseline: BullMQ stalled-job recovery. A rescue Worker process (concurrency 1) stays up; per
 * sample its slot is taken by a gate job while a fresh holder Worker process takes the work job and
 * never finishes it; the gate is released, the holder gets SIGKILL, and the rescue worker records
 * when it starts the recovered job. Both workers use the same lockDuration and stalledInterval.
 */
export async function bullmqReassign(p: BullReassignParams): Promise<ReassignSide> {
  const prefix = `benchbull:${randomBytes(4).toString("hex")}`;
  const redis = redisClient();
  const connection = redisClient();
  const queue = new Queue("ra", { connection, prefix });
  const env = {
    REDIS_URL,
    BULL_QUEUE: "ra",
    BULL_PREFIX: prefix,
    BULL_CONCURRENCY: "1",
    BULL_LOCK_MS: String(p.lockDurationMs),
    BULL_STALLED_MS: String(p.stalledIntervalMs),
  };
  let rescuer: Child | undefined;
  let holder: Child | undefined;
  const samplesMs: number[] = [];
  const started = Date.now();
  const forget = onEmergency(() => dropKeys(`${prefix}:*`));
  try {
    rescuer = spawnTs(
      "bullmq rescue worker",
      "bench/load/bull-worker.ts",
      { ...env, BULL_MODE: "rescue" },
      { ipc: true },
    );
    const r = rescuer;
    await nextMessage(r, (m) => m.type === "loaded", 20_000, "rescue worker start");
    const picks = collect<Message & { at: number }>(r, "picked", "jobId");
    let discarded = 0;
    for (let i = 0; samplesMs.length < p.samples && discarded <= p.samples; i++) {
      if (samplesMs.length > 0 && Date.now() - started > p.budgetMs) break;
      const gateHeld = nextMessage(r, (m) => m.type === "gate-held", 10_000, "gate job held");
      await queue.add("gate", {});
      await gateHeld;
      holder = spawnTs(
        `bullmq holder ${i}`,
        "bench/load/bull-worker.ts",
        { ...env, BULL_MODE: "hold" },
        { ipc: true },
      );
      const h = holder;
      await nextMessage(h, (m) => m.type === "loaded", 20_000, "holder worker start");
      const jobId = `work-${i}`;
      const holding = nextMessage(
        h,
        (m) => m.type === "holding" && m.jobId === jobId,
        10_000,
        "holder to take the job",
      );
      await queue.add("work", {}, { jobId });
      await holding;
      const gateDone = nextMessage(r, (m) => m.type === "gate-done", 10_000, "gate job completed");
      send(r, { type: "release" });
      await gateDone;
      await sleep(SETTLE_MS);
      if (p.jitter !== false) await killJitter(p.lockDurationMs);
      const killedAt = Date.now();
      h.proc.kill("SIGKILL");
      const pick = await until(async () => picks.get(jobId), {
        timeoutMs: p.lockDurationMs + 2 * p.stalledIntervalMs + 15_000,
        everyMs: 5,
        what: `rescue worker to pick ${jobId}`,
      });
      await stopChild(h.proc);
      // The holder's lock lapsed before the kill (missed renewals on a loaded machine): discard.
      if (pick.at < killedAt) {
        discarded++;
        continue;
      }
      samplesMs.push(pick.at - killedAt);
    }
    if (samplesMs.length < p.samples && discarded > p.samples) {
      throw new Error(
        `${discarded} samples discarded: holders lost their jobs before the kill (machine overloaded?)`,
      );
    }
    return sideResult(
      prefix,
      { lockDuration: p.lockDurationMs, stalledInterval: p.stalledIntervalMs },
      samplesMs,
      discarded,
    );
  } finally {
    if (holder) await stopChild(holder.proc);
    if (rescuer) await stopChild(rescuer.proc);
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close().catch(() => {});
    await deleteKeys(redis, `${prefix}:*`).catch(() => 0);
    forget();
    redis.disconnect();
    connection.disconnect();
  }
}
