// Injects one fault of the timeline and waits for its recovery; returns what happened, with wall
// times. Each fault finds its target from the replicas' own /metrics at the moment it begins.
import { redisKeys } from "../../daemon/store/redis/redis-keys.ts";
import { sleep } from "../support/timing.ts";
import type { AgentFleet } from "./agents.ts";
import { type ChaosConfig, type FaultKind, NAMESPACE } from "./config.ts";
import { sumOf } from "./prom-text.ts";
import type { FaultRecord } from "./records.ts";
import type { ReplicaSet } from "./replicas.ts";
import type { Scraper } from "./scraper.ts";
import type { ChaosPostgres, ChaosRedis } from "./services.ts";

/** Written before a Redis SIGKILL, read after the restart (outside every Overseer key prefix). */
const SENTINEL_KEY = "chaos:aof-sentinel";

export interface FaultTargets {
  config: ChaosConfig;
  replicas: ReplicaSet;
  scraper: Scraper;
  fleet: AgentFleet;
  redis: ChaosRedis;
  postgres: ChaosPostgres;
  log: (line: string) => void;
}

/** The replica whose /metrics says overseer_leader 1 (waits up to `timeoutMs` for one). */
export async function findLeader(
  t: FaultTargets,
  timeoutMs = 15_000,
): Promise<{ replica: number; epoch: number } | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const scrapes = await Promise.all(t.replicas.replicas.map((r) => t.scraper.scrape(r.index)));
    const leaders = scrapes.filter((s) => s.up && sumOf(s.series, "overseer_leader") === 1);
    if (leaders.length === 1) {
      const s = leaders[0]!;
      return { replica: s.replica, epoch: sumOf(s.series, "overseer_leader_epoch") ?? 0 };
    }
    await sleep(250);
  }
  return null;
}

async function restartReplica(t: FaultTargets, i: number): Promise<void> {
  await t.replicas.start(i, 90_000);
}

export async function injectFault(kind: FaultKind, t: FaultTargets): Promise<FaultRecord> {
  const c = t.config;
  switch (kind) {
    case "agent-kill": {
      const start = Date.now();
      const w = await t.fleet.killOne("worker");
      const p = await t.fleet.killOne("pipeline");
      return {
        kind,
        target: `agents ${w.killed}, ${p.killed}`,
        start,
        end: Date.now(),
        detail: `SIGKILL; replacements ${w.replacement}, ${p.replacement} registered`,
      };
    }
    case "leader-kill":
    case "leader-pause": {
      const leader = await findLeader(t);
      // No single leader visible (e.g. still settling after the previous fault): hit replica 0 and say so.
      const replica = leader?.replica ?? 0;
      const target = leader
        ? `replica ${replica} (leader, epoch ${leader.epoch})`
        : `replica ${replica} (no leader seen)`;
      const start = Date.now();
      if (kind === "leader-kill") {
        await t.replicas.kill(replica);
        await sleep(c.replicaDownMs);
        await restartReplica(t, replica);
        return {
          kind,
          target,
          replica,
          wasLeader: leader !== null,
          start,
          end: Date.now(),
          detail: "SIGKILL, restarted",
        };
      }
      t.replicas.pause(replica);
      await sleep(c.pauseMs);
      t.replicas.resume(replica);
      return {
        kind,
        target,
        replica,
        wasLeader: leader !== null,
        start,
        end: Date.now(),
        detail: `SIGSTOP for ${c.pauseMs} ms (lease ${c.leaseMs} ms), then SIGCONT`,
      };
    }
    case "replica-kill": {
      const leader = await findLeader(t);
      const replica = t.replicas.replicas.find((r) => r.index !== (leader?.replica ?? -1))?.index ?? 0;
      const start = Date.now();
      await t.replicas.kill(replica);
      await sleep(c.replicaDownMs);
      await restartReplica(t, replica);
      return {
        kind,
        target: `replica ${replica} (not leader)`,
        replica,
        wasLeader: false,
        start,
        end: Date.now(),
        detail: "SIGKILL, restarted",
      };
    }
    case "redis-restart": {
      // What the AOF must bring back: a sentinel written (and so fsynced) just before the SIGKILL,
      // and the leader epoch counter, which must never go back (the daemons' own fence would hide
      // a reset, so it is read here directly). Key counts are logged for information only: keys
      // with a TTL run out while Redis is down and the daemons keep writing around it.
      const epochKey = redisKeys(NAMESPACE).leaderEpoch;
      const sentinel = `chaos-${Date.now()}`;
      const before = await t.redis.with(async (r) => {
        await r.set(SENTINEL_KEY, sentinel);
        return { epoch: Number((await r.get(epochKey)) ?? 0), keys: await r.dbsize() };
      }, null);
      const start = Date.now();
      await t.redis.kill();
      await sleep(c.redisDownMs);
      await t.redis.restart();
      const end = Date.now();
      const after = await t.redis.with(
        async (r) => ({
          sentinel: await r.get(SENTINEL_KEY),
          epoch: Number((await r.get(epochKey)) ?? 0),
          keys: await r.dbsize(),
        }),
        null,
      );
      const redis = {
        sentinelKept: before !== null && after?.sentinel === sentinel,
        epochBefore: before?.epoch ?? -1,
        epochAfter: after?.epoch ?? -1,
      };
      return {
        kind,
        target: `redis :${t.redis.port}`,
        start,
        end,
        redis,
        detail:
          `SIGKILL, down ${c.redisDownMs} ms, restarted from its AOF (appendfsync always); sentinel ` +
          `${redis.sentinelKept ? "kept" : "LOST"}, leader epoch ${redis.epochBefore} → ${redis.epochAfter}, ` +
          `keys ${before?.keys ?? "?"} → ${after?.keys ?? "?"}`,
      };
    }
    case "postgres-stop": {
      const start = Date.now();
      await t.postgres.stopServer("fast");
      const stopped = Date.now();
      await sleep(c.postgresOutageMs);
      await t.postgres.startServer();
      return {
        kind,
        target: `postgres :${t.postgres.port}`,
        start,
        end: Date.now(),
        detail: `pg_ctl stop -m fast (${stopped - start} ms), down ${c.postgresOutageMs} ms, pg_ctl start`,
      };
    }
  }
}
