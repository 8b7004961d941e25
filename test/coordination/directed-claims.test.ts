import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { CoordinationRedis, DIRECTED_REFRESH_MS } from "../../daemon/store/redis/coordination-redis.ts";
import { redisKeys } from "../../daemon/store/redis/redis-keys.ts";
import { freshNamespace } from "../helpers/test-env.ts";

const redis = new Redis({ host: "127.0.0.1", port: 6379 });
const namespace = freshNamespace();
const keys = redisKeys(namespace);

afterAll(async () => {
  const stray = await redis.keys(`ovs:{${namespace}}:*`);
  if (stray.length > 0) await redis.del(...stray);
  await redis.quit();
});

/** A Redis that counts the commands sent through it (the claim path's round trips). */
function counting(): { client: Redis; calls: string[] } {
  const calls: string[] = [];
  const client = new Proxy(redis, {
    get(target, prop) {
      const v = Reflect.get(target, prop);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return v.apply(target, args);
      };
    },
  });
  return { client, calls };
}

describe("directed hand-offs on the claim path", () => {
  it("costs no Redis round trip per claim for an agent with nothing assigned, and still finds another replica's assign", async () => {
    let clock = 1_000_000;
    const { client, calls } = counting();
    const claimer = new CoordinationRedis(client, keys, () => clock);
    const other = new CoordinationRedis(redis, keys, () => clock);
    // The first call reads the set of agents with directed work once (in the background).
    expect(await claimer.takeFor("idle", 5)).toEqual([]);
    await claimer.refresh();
    calls.length = 0;
    for (let i = 0; i < 50; i++) expect(await claimer.takeFor("idle", 5)).toEqual([]);
    expect(calls).toEqual([]);

    // Another replica reassigns to this agent: once this replica's view is refreshed, the claim takes it.
    await other.assign("busy", "task-1", "code");
    clock += DIRECTED_REFRESH_MS;
    let taken: Array<{ taskId: string; type: string | null }> = [];
    for (let i = 0; i < 20 && taken.length === 0; i++) {
      taken = await claimer.takeFor("busy", 5);
      if (taken.length === 0) await new Promise((r) => setTimeout(r, 10));
    }
    expect(taken).toEqual([{ taskId: "task-1", type: "code" }]);
    // The list emptied: the agent left the set, and its next claims cost nothing again.
    expect(await redis.sismember(`ovs:{${namespace}}:assigned-agents`, "busy")).toBe(0);
    calls.length = 0;
    expect(await claimer.takeFor("busy", 5)).toEqual([]);
    expect(calls).toEqual([]);
  });

  it("an assign on this replica is seen at once, and an entry without a type still works", async () => {
    const here = new CoordinationRedis(redis, keys);
    await here.refresh();
    await here.assign("a1", "task-2", "review");
    await redis.rpush(keys.agentAssigned("a1"), "task-legacy");
    expect(await here.takeFor("a1", 1)).toEqual([{ taskId: "task-2", type: "review" }]);
    expect(await here.takeFor("a1", 5)).toEqual([{ taskId: "task-legacy", type: null }]);
  });
});
