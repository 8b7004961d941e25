import { Redis } from "ioredis";
import pg from "pg";
import { expect, it } from "vitest";
import { sessionFleet, sessionFleetMarkdown } from "../../bench/scenarios/session-fleet.ts";
import { DATABASE_URL, REDIS_URL } from "../helpers/test-env.ts";

// The 10k-session acceptance measurement at a toy size: every agent opens its session, every
// heartbeat sent in the window is answered 200 over it, no session closes, the table renders, and
// the namespace is gone afterwards. Behaviour only: no assertion on speed (a shared 2-core machine is
// no place for that; the real figures come from sessionFleet at 10,000 agents).
const AGENTS = 50;

const positive = (n: unknown) => typeof n === "number" && Number.isFinite(n) && n > 0;

async function leftovers(namespace: string) {
  const db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  const redis = new Redis(REDIS_URL);
  try {
    const found = await db.query("SELECT 1 FROM information_schema.schemata WHERE schema_name = $1", [
      `overseer_${namespace}`,
    ]);
    const keys: string[] = [];
    for (const pattern of [`ovs:{${namespace}}:*`, `ovs:${namespace}:*`]) {
      const [, batch] = await redis.scan("0", "MATCH", pattern, "COUNT", 100_000);
      keys.push(...batch);
    }
    return { schemas: found.rowCount, keys };
  } finally {
    await db.end();
    redis.disconnect();
  }
}

it("runs the session fleet at a small size: every heartbeat answered over open sessions, and cleans up", async () => {
  const r = await sessionFleet({ agents: AGENTS, durationMs: 2_000, redisRequests: 1_000 });
  const hb = r.heartbeats;
  const all = JSON.stringify(hb);
  expect(r.registration.agents).toBe(AGENTS);
  expect(hb.sessionsOpen, all).toBe(AGENTS);
  expect(hb.closedInWindow, all).toBe(0);
  expect(hb.errors, all).toEqual({});
  expect(hb.skipped, all).toBe(0);
  // About two heartbeats per agent in 2 s at 1 Hz; every one answered or still on its way.
  expect(hb.sent, all).toBeGreaterThanOrEqual(AGENTS);
  expect(hb.ok + hb.unanswered, all).toBeGreaterThanOrEqual(hb.sent);
  expect(hb.latencyMs?.n, all).toBe(hb.ok);
  for (const n of [hb.achievedPerSec, hb.latencyMs?.p50, hb.latencyMs?.p99, r.cpu.daemonUsPerHeartbeat])
    expect(n, all).toSatisfy(positive);
  expect(r.goalsMet.answered, all).toBe(true);
  expect(r.agentsByState, JSON.stringify(r.agentsByState)).toEqual({ active: AGENTS });
  expect(r.redis?.installed === false || positive(r.ratios.rateOfLimit)).toBe(true);
  // Warnings about the host (autovacuum off on a test Postgres, say) are not this scenario's.
  expect(Object.keys(r.daemonProblems).filter((k) => !k.startsWith("warn:"))).toEqual([]);
  expect(sessionFleetMarkdown(r)).toContain("| Heartbeat latency p99 (ms)");

  expect(await leftovers(r.namespace)).toEqual({ schemas: 0, keys: [] });
}, 30_000);
