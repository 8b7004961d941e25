import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withAdvisoryLock } from "../../daemon/store/locks-store.ts";
import { schemaFor } from "../../daemon/store/migrate.ts";
import { createPool, type Db } from "../../daemon/store/pg-pool.ts";
import { dropNamespace } from "../helpers/namespace-cleanup.ts";
import { DATABASE_URL, freshNamespace } from "../helpers/test-env.ts";

/**
 * withAdvisoryLock (daemon/store/locks-store.ts), which serialises auto-heal passes across
 * replicas: one holder per name and namespace, a bounded wait, and the lock released after a throw.
 */
const namespaces = [freshNamespace(), freshNamespace()];
const pools: Db[] = [];

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  try {
    for (const ns of namespaces) await admin.query(`CREATE SCHEMA ${schemaFor(ns)}`);
  } finally {
    await admin.end();
  }
  for (const ns of namespaces) pools.push(createPool(DATABASE_URL, ns, { max: 4 }));
});
afterAll(async () => {
  for (const pool of pools) await pool.end();
  for (const ns of namespaces) await dropNamespace(ns);
});

/** A holder that keeps the lock until `release()` is called. */
function hold(db: Db, name = "overseer_heal") {
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let entered = () => {};
  const inside = new Promise<void>((resolve) => {
    entered = resolve;
  });
  const done = withAdvisoryLock(db, name, 1_000, async () => {
    entered();
    await released;
    return "first";
  });
  return { inside, release, done };
}

describe("withAdvisoryLock", () => {
  it("lets one holder in per name and namespace; a waiter gives up after its bound", async () => {
    const [a, b] = pools as [Db, Db];
    const first = hold(a);
    await first.inside;
    const started = Date.now();
    const refused = await withAdvisoryLock(a, "overseer_heal", 200, async () => "second").catch((e) => e);
    expect((refused as { code?: string }).code).toBe("55P03"); // lock_not_available
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    // Another name, or the same name in another namespace, is another lock.
    expect(await withAdvisoryLock(a, "other", 200, async () => "other name")).toBe("other name");
    expect(await withAdvisoryLock(b, "overseer_heal", 200, async () => "other namespace")).toBe(
      "other namespace",
    );
    first.release();
    expect(await first.done).toBe("first");
    expect(await withAdvisoryLock(a, "overseer_heal", 200, async () => "after")).toBe("after");
  });

  it("a waiter within its bound gets the lock when the holder finishes, and a throw releases it", async () => {
    const [a] = pools as [Db];
    const first = hold(a);
    await first.inside;
    const waiter = withAdvisoryLock(a, "overseer_heal", 2_000, async () => "waited");
    setTimeout(first.release, 100);
    expect(await waiter).toBe("waited");
    await expect(
      withAdvisoryLock(a, "overseer_heal", 200, async () => {
        throw new Error("pass failed");
      }),
    ).rejects.toThrow("pass failed");
    expect(await withAdvisoryLock(a, "overseer_heal", 200, async () => "free again")).toBe("free again");
  });
});
