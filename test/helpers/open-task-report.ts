import { Redis } from "ioredis";
import type pg from "pg";
import { redisKeys } from "../../daemon/store/redis/redis-keys.ts";
import { REDIS_URL } from "./test-env.ts";

/**
 * When an acceptance test times out waiting for work to finish, say where each unfinished task is:
 * its Postgres row and attempts, and which BullMQ list or set holds its job. A bare "timed out"
 * from a CI run cannot be debugged afterwards.
 */
export async function openTaskReport(db: pg.Client, namespace: string, limit = 10): Promise<string> {
  const open = await db.query(
    `SELECT id, type, state, attempts, lease_token, lease_agent_id, lease_expires_at, ready_at, updated_at
       FROM tasks WHERE state NOT IN ('completed', 'failed', 'dead') ORDER BY created_at LIMIT $1`,
    [limit],
  );
  if (open.rows.length === 0) return "no open tasks";
  const redis = new Redis(REDIS_URL);
  const lines: string[] = [];
  try {
    const keys = redisKeys(namespace);
    for (const t of open.rows) {
      const attempts = await db.query(
        "SELECT attempt, agent_id, lease_token, outcome, claimed_at, finished_at FROM task_attempts WHERE task_id = $1 ORDER BY attempt",
        [t.id],
      );
      const q = `${keys.bullPrefix}:${t.type}`;
      const where: string[] = [];
      for (const list of ["wait", "active", "paused"]) {
        if ((await redis.lpos(`${q}:${list}`, t.id)) !== null) where.push(list);
      }
      for (const zset of ["prioritized", "delayed", "completed", "failed"]) {
        if ((await redis.zscore(`${q}:${zset}`, t.id)) !== null) where.push(zset);
      }
      const jobExists = (await redis.exists(`${q}:${t.id}`)) === 1;
      const lock = await redis.get(`${q}:${t.id}:lock`);
      lines.push(
        `${JSON.stringify(t)} attempts=${JSON.stringify(attempts.rows)} bull=[${where.join(",")}] ` +
          `jobHash=${jobExists} lock=${lock ?? "none"}`,
      );
    }
    const agents = await db.query("SELECT id, name, state FROM agents ORDER BY registered_at");
    lines.push(`agents: ${JSON.stringify(agents.rows)}`);
  } finally {
    redis.disconnect();
  }
  return lines.join("\n");
}
