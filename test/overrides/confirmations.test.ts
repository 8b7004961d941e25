import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { confirmations, paramsDigest } from "../../daemon/control/confirmations.ts";
import { OverseerError } from "../../daemon/errors/overseer-error.ts";
import { migrate } from "../../daemon/store/migrate.ts";
import { createPool, type Db } from "../../daemon/store/pg-pool.ts";
import { dropNamespace } from "../helpers/namespace-cleanup.ts";
import { DATABASE_URL, freshNamespace } from "../helpers/test-env.ts";

/** Two-step confirmation tokens against the real Postgres, with the clock injected. */
const ns = freshNamespace();
let db: Db;

beforeAll(async () => {
  db = createPool(DATABASE_URL, ns, { max: 2 });
  await migrate(db, ns, () => {});
});
afterAll(async () => {
  await db.end();
  await dropNamespace(ns);
});

const T0 = new Date("2026-01-01T00:00:00Z");
const base = { action: "override:stop_all_tasks", params: { reason: "r", n: 1 }, actor: "admin" };

async function rejection(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(OverseerError);
  expect((e as OverseerError).code).toBe("OVS_ERR_CONFIRMATION_INVALID");
  return (e as OverseerError).message;
}

describe("confirmations", () => {
  it("digests parameters independently of key order", () => {
    expect(paramsDigest({ a: 1, b: { c: 2, d: [1, 2] } })).toBe(
      paramsDigest({ b: { d: [1, 2], c: 2 }, a: 1 }),
    );
    expect(paramsDigest({ a: 1 })).not.toBe(paramsDigest({ a: 2 }));
    expect(paramsDigest(undefined)).toBe(paramsDigest(null));
  });

  it("issues a token that is accepted once, returning the predicted impact", async () => {
    const issued = await confirmations.issue(db, { ...base, impact: { queued: 3 } }, T0);
    expect(issued.token).toMatch(/^ovc_/);
    expect(issued.expiresAt).toBe(new Date(T0.getTime() + 120_000).toISOString());
    const used = await confirmations.consume(
      db,
      { ...base, token: issued.token },
      new Date(T0.getTime() + 1_000),
    );
    expect(used.impact).toEqual({ queued: 3 });
    expect(
      await rejection(
        confirmations.consume(db, { ...base, token: issued.token }, new Date(T0.getTime() + 2_000)),
      ),
    ).toContain("already used");
  });

  it("stores only a hash of the token", async () => {
    const issued = await confirmations.issue(db, { ...base, impact: {} }, T0);
    const r = await db.query("SELECT token_hash FROM confirmations");
    expect(r.rows.some((x) => x.token_hash === issued.token)).toBe(false);
    expect(r.rows.every((x) => /^[0-9a-f]{64}$/.test(x.token_hash))).toBe(true);
  });

  it("refuses unknown, expired, and mismatched tokens without using them", async () => {
    expect(await rejection(confirmations.consume(db, { ...base, token: "ovc_nope" }, T0))).toContain(
      "unknown",
    );
    const issued = await confirmations.issue(db, { ...base, impact: {}, ttlMs: 5_000 }, T0);
    const at = new Date(T0.getTime() + 1_000);
    expect(
      await rejection(
        confirmations.consume(db, { ...base, action: "override:clear_task_queue", token: issued.token }, at),
      ),
    ).toContain("issued for override:stop_all_tasks");
    expect(
      await rejection(
        confirmations.consume(db, { ...base, params: { reason: "other", n: 1 }, token: issued.token }, at),
      ),
    ).toContain("other parameters");
    expect(
      await rejection(confirmations.consume(db, { ...base, actor: "operator", token: issued.token }, at)),
    ).toContain("another actor");
    // None of the refusals used it: the right caller still can, until it expires.
    expect(
      await rejection(
        confirmations.consume(db, { ...base, token: issued.token }, new Date(T0.getTime() + 5_000)),
      ),
    ).toContain("expired");
    const again = await confirmations.issue(db, { ...base, impact: {}, ttlMs: 5_000 }, T0);
    await expect(confirmations.consume(db, { ...base, token: again.token }, at)).resolves.toEqual({
      impact: {},
    });
  });

  it("accepts a token once when two consumers race for it", async () => {
    const issued = await confirmations.issue(db, { ...base, impact: {} }, T0);
    const at = new Date(T0.getTime() + 1_000);
    const tryOnce = async () => {
      const c = await db.connect();
      try {
        await c.query("BEGIN");
        await confirmations.consume(c, { ...base, token: issued.token }, at);
        await c.query("COMMIT");
        return true;
      } catch {
        await c.query("ROLLBACK");
        return false;
      } finally {
        c.release();
      }
    };
    const results = await Promise.all([tryOnce(), tryOnce()]);
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it("drops tokens that expired more than a day ago when new ones are issued", async () => {
    await confirmations.issue(db, { ...base, impact: {}, ttlMs: 1_000 }, T0);
    const later = new Date(T0.getTime() + 2 * 86_400_000);
    await confirmations.issue(db, { ...base, impact: {} }, later);
    const r = await db.query("SELECT count(*)::int AS n FROM confirmations WHERE expires_at < $1", [
      new Date(later.getTime() - 86_400_000),
    ]);
    expect(r.rows[0].n).toBe(0);
  });
});
