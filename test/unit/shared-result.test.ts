import { describe, expect, it } from "vitest";
import { sharedResult } from "../../daemon/telemetry/scrape-throttle.ts";

describe("sharedResult (how /metrics renders once for many scrapers)", () => {
  it("shares one make among callers during it and within the interval; makes again after", async () => {
    let now = 0;
    let makes = 0;
    let release: () => void = () => {};
    const get = sharedResult(
      () =>
        new Promise<string>((resolve) => {
          makes++;
          const n = makes;
          release = () => resolve(`render ${n}`);
        }),
      1_000,
      () => now,
    );
    const during = Array.from({ length: 32 }, () => get());
    release();
    expect(new Set(await Promise.all(during))).toEqual(new Set(["render 1"]));
    now = 999;
    expect(await get()).toBe("render 1");
    expect(makes).toBe(1);
    now = 1_000;
    const next = get();
    release();
    expect(await next).toBe("render 2");
  });

  it("with interval 0 renders each call, but callers during one render still share it", async () => {
    let makes = 0;
    const get = sharedResult(async () => `render ${++makes}`, 0);
    const [a, b] = await Promise.all([get(), get()]);
    expect([a, b]).toEqual(["render 1", "render 1"]);
    expect(await get()).toBe("render 2");
  });

  it("keeps no failure: the next caller makes it again", async () => {
    let fail = true;
    const get = sharedResult(async () => {
      if (fail) throw new Error("postgres down");
      return "ok";
    }, 1_000);
    await expect(get()).rejects.toThrow("postgres down");
    fail = false;
    expect(await get()).toBe("ok");
  });
});
