import { createHash, randomBytes } from "node:crypto";
import { OverseerError } from "../errors/overseer-error.ts";
import { confirmationsStore } from "../store/confirmations-store.ts";
import type { Queryable } from "../store/pg-pool.ts";

/**
 * Two-step confirmation of dangerous operator actions (emergency overrides, coordination resets).
 * The dry run calls `issue` and returns the token with the predicted impact; the execute call
 * presents it to `consume`, which accepts it once, only for the same action, parameters and actor,
 * and only before it expires. Tokens live in Postgres (hashed), so any replica can confirm.
 */
export interface IssuedConfirmation {
  token: string;
  expiresAt: string;
}

export const DEFAULT_CONFIRMATION_TTL_MS = 120_000;

const hash = (token: string) => createHash("sha256").update(token).digest("hex");

/** A stable digest of the parameters (key order does not matter). */
export function paramsDigest(params: unknown): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v !== null && typeof v === "object"
        ? Object.fromEntries(
            Object.keys(v as Record<string, unknown>)
              .sort()
              .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
          )
        : v;
  return createHash("sha256")
    .update(JSON.stringify(canonical(params ?? null)))
    .digest("hex");
}

export const confirmations = {
  async issue(
    q: Queryable,
    c: { action: string; params: unknown; actor: string; impact: unknown; ttlMs?: number },
    now = new Date(),
  ): Promise<IssuedConfirmation> {
    const token = `ovc_${randomBytes(24).toString("base64url")}`;
    const expiresAt = new Date(now.getTime() + (c.ttlMs ?? DEFAULT_CONFIRMATION_TTL_MS));
    await confirmationsStore.insert(q, {
      tokenHash: hash(token),
      action: c.action,
      paramsDigest: paramsDigest(c.params),
      actor: c.actor,
      impact: c.impact,
      createdAt: now,
      expiresAt,
    });
    // Old tokens go as new ones come: the table stays small without a loop of its own.
    await confirmationsStore.deleteExpiredBefore(q, new Date(now.getTime() - 86_400_000));
    return { token, expiresAt: expiresAt.toISOString() };
  },

  /**
   * Accepts the token once for this action, parameters and actor; returns the impact the dry run
   * predicted. Anything else is a 409 OVS_ERR_CONFIRMATION_INVALID that says why, and uses nothing.
   */
  async consume(
    q: Queryable,
    c: { token: string; action: string; params: unknown; actor: string },
    now = new Date(),
  ): Promise<{ impact: unknown }> {
    const row = await confirmationsStore.lock(q, hash(c.token));
    const invalid = (why: string) =>
      new OverseerError("OVS_ERR_CONFIRMATION_INVALID", `confirmation token ${why}; run the dry run again`);
    if (!row) throw invalid("is unknown");
    if (row.usedAt) throw invalid("was already used");
    if (row.expiresAt.getTime() <= now.getTime()) throw invalid("has expired");
    if (row.action !== c.action) throw invalid(`was issued for ${row.action}, not ${c.action}`);
    if (row.paramsDigest !== paramsDigest(c.params)) throw invalid("was issued for other parameters");
    if (row.actor !== c.actor) throw invalid("was issued to another actor");
    if (!(await confirmationsStore.markUsed(q, hash(c.token), now))) throw invalid("was already used");
    return { impact: row.impact };
  },
};
