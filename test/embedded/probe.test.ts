import { describe, expect, it } from "vitest";
import { getFreePort } from "../../app/embedded/free-port.ts";
import { canReachPostgres, canReachRedis } from "../../app/embedded/probe.ts";

describe("probes", () => {
  it("getFreePort returns a bindable port", async () => {
    const port = await getFreePort();
    expect(port).toBeGreaterThan(0);
    expect(port).toBeLessThan(65536);
  });

  it("return false quickly for a closed port", async () => {
    const port = await getFreePort();
    const started = Date.now();
    const [redis, postgres] = await Promise.all([
      canReachRedis(`redis://127.0.0.1:${port}`, 1000),
      canReachPostgres(`postgres://postgres@127.0.0.1:${port}/postgres`, 1000),
    ]);
    expect(redis).toBe(false);
    expect(postgres).toBe(false);
    expect(Date.now() - started).toBeLessThan(900);
  });

  it("return false (not throw) for garbage and for the wrong protocol", async () => {
    expect(await canReachPostgres("not a url", 500)).toBe(false);
    expect(await canReachRedis("redis://127.0.0.1:notaport", 500)).toBe(false);
    // Each server answers the other's handshake with garbage: the probe must say no within the timeout.
    expect(await canReachRedis("redis://127.0.0.1:5432", 500)).toBe(false);
    expect(await canReachPostgres("postgres://postgres@127.0.0.1:6379/postgres", 500)).toBe(false);
  });

  it("return true for the machine's Redis and Postgres", async () => {
    expect(await canReachRedis("redis://127.0.0.1:6379", 1000)).toBe(true);
    expect(await canReachPostgres("postgres://postgres@127.0.0.1:5432/postgres", 1000)).toBe(true);
  });
});
