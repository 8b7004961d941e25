import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { ReadySignal } from "../../daemon/store/redis/ready-signal.ts";
import { REDIS_URL } from "../helpers/test-env.ts";

/**
 * Two replicas on one channel: a notify wakes as many waiters as it names here (at once) and on the
 * other replica (through Redis), and the notifying replica does not wake a second waiter when its
 * own publication comes back to it.
 */
const clients: Redis[] = [];
const client = () => {
  const c = new Redis(REDIS_URL);
  clients.push(c);
  return c;
};
afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit()));
});

describe("the ready signal across replicas", () => {
  it("wakes one waiter per task on each replica, not two on the one that notified", async () => {
    const channel = `test:ready:${randomUUID()}`;
    const onError = (e: Error) => {
      throw e;
    };
    const a = new ReadySignal(client(), client(), channel, onError);
    const b = new ReadySignal(client(), client(), channel, onError);
    await Promise.all([a.start(), b.start()]);
    const woken: string[] = [];
    const waiter = (s: ReadySignal, name: string) =>
      s.wait(["t"], 1_500).then(() => {
        if (performance.now() - t0 < 1_000) woken.push(name);
      });
    const t0 = performance.now();
    const waits = [waiter(a, "a1"), waiter(a, "a2"), waiter(b, "b1"), waiter(b, "b2")];
    a.notify("t", 1);
    await Promise.all(waits);
    expect(woken.sort()).toEqual(["a1", "b1"]);
    await Promise.all([a.stop(), b.stop()]);
  });

  it("wakes a waiter when a delayed task becomes due, not at the next poll", async () => {
    const channel = `test:ready:${randomUUID()}`;
    const a = new ReadySignal(client(), client(), channel, (e) => {
      throw e;
    });
    await a.start();
    const t0 = performance.now();
    const waited = a.wait(["t"], 5_000).then(() => performance.now() - t0);
    a.notifyWhenDue("t", 120);
    const ms = await waited;
    expect(ms).toBeGreaterThanOrEqual(100);
    expect(ms).toBeLessThan(2_000);
    await a.stop();
  });
});
