import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { HealGatesStore } from "../../daemon/store/redis/heal-gates-store.ts";
import { DispatchGate } from "../../recovery/dispatch-gate.ts";
import { freshNamespace } from "../helpers/test-env.ts";

const redis = new Redis({ host: "127.0.0.1", port: 6379, lazyConnect: false });
const key = `ovs:{${freshNamespace()}}:heal:gates`;

afterAll(async () => {
  await redis.del(key);
  await redis.quit();
});

/** A Redis whose HGETALL reply reaches its caller only after `hook` ran: a deterministic interleaving. */
function slowReads(hook: () => Promise<void>): Redis {
  return new Proxy(redis, {
    get(target, prop) {
      if (prop === "hgetall") {
        return async (...args: [string]) => {
          const reply = await target.hgetall(...args);
          await hook();
          return reply;
        };
      }
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

describe("dispatch gate across replicas", () => {
  it("a refresh on one replica never deletes a quarantine another replica just set", async () => {
    const now = Date.now();
    const a = new DispatchGate(new HealGatesStore(redis, key));
    // An expired quarantine of the same name is still in the hash.
    await redis.hset(key, "agent:flappy", String(now - 1_000), "type:old", String(now - 1_000));
    // Replica B reads the hash (sees the expired entry); before it acts on it, replica A quarantines anew.
    const b = new DispatchGate(
      new HealGatesStore(
        slowReads(() => a.quarantine("flappy", now + 60_000)),
        key,
      ),
    );
    await b.refresh();
    const c = new DispatchGate(new HealGatesStore(redis, key));
    await c.refresh();
    expect(c.isQuarantined("flappy")).toBe(true);
    expect(Number(await redis.hget(key, "agent:flappy"))).toBe(now + 60_000);
    // B ignored the expired entry it read; its next refresh sees A's.
    expect(b.isQuarantined("flappy")).toBe(false);
    expect(c.snapshot().quarantinedAgents).toEqual({ flappy: new Date(now + 60_000).toISOString() });
    // Expired fields are pruned by whoever sets one, atomically; live ones are kept.
    expect(await redis.hexists(key, "type:old")).toBe(0);
  });

  it("setting a field prunes only expired ones", async () => {
    const now = Date.now();
    await redis.del(key);
    await redis.hset(key, "type:stale", String(now - 5), "type:live", String(now + 60_000));
    const gate = new DispatchGate(new HealGatesStore(redis, key));
    await gate.openCircuit("new", now + 60_000);
    expect(Object.keys(await redis.hgetall(key)).sort()).toEqual(["type:live", "type:new"]);
    await gate.refresh();
    expect([gate.isCircuitOpen("live"), gate.isCircuitOpen("new"), gate.isCircuitOpen("stale")]).toEqual([
      true,
      true,
      false,
    ]);
  });
});
