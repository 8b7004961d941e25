import type { Queryable, Tx } from "./pg-pool.ts";
import { countsOf, type PurgeBatch, purgeOne } from "./purge-batch.ts";

/** A confirmation token as kept: only its hash, with what it was issued for. */
export interface ConfirmationRow {
  action: string;
  paramsDigest: string;
  actor: string;
  impact: unknown;
  expiresAt: Date;
  usedAt: Date | null;
}

/**
 * The `confirmations` table (migration 1732838400000): hashed two-step confirmation tokens of
 * dangerous operator actions. The rules (who may use which token, when) are in
 * daemon/control/confirmations.ts.
 */
export const confirmationsStore = {
  async insert(
    q: Queryable,
    c: {
      tokenHash: string;
      action: string;
      paramsDigest: string;
      actor: string;
      impact: unknown;
      createdAt: Date;
      expiresAt: Date;
    },
  ): Promise<void> {
    await q.query(
      `INSERT INTO confirmations (token_hash, action, params_digest, actor, impact, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        c.tokenHash,
        c.action,
        c.paramsDigest,
        c.actor,
        JSON.stringify(c.impact ?? {}),
        c.createdAt,
        c.expiresAt,
      ],
    );
  },

  /** Deletes tokens that expired before `before`. */
  async deleteExpiredBefore(q: Queryable, before: Date): Promise<void> {
    await q.query("DELETE FROM confirmations WHERE expires_at < $1", [before]);
  },

  /** The token's row, locked until the caller's transaction ends; null when unknown. */
  async lock(q: Queryable, tokenHash: string): Promise<ConfirmationRow | null> {
    const r = await q.query<{
      action: string;
      params_digest: string;
      actor: string;
      impact: unknown;
      expires_at: Date;
      used_at: Date | null;
    }>(
      "SELECT action, params_digest, actor, impact, expires_at, used_at FROM confirmations WHERE token_hash = $1 FOR UPDATE",
      [tokenHash],
    );
    const row = r.rows[0];
    if (!row) return null;
    return {
      action: row.action,
      paramsDigest: row.params_digest,
      actor: row.actor,
      impact: row.impact,
      expiresAt: row.expires_at,
      usedAt: row.used_at,
    };
  },

  /** Marks the token used at `at`; false when it already was. */
  async markUsed(q: Queryable, tokenHash: string, at: Date): Promise<boolean> {
    const used = await q.query(
      "UPDATE confirmations SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL",
      [tokenHash, at],
    );
    return (used.rowCount ?? 0) > 0;
  },

  /**
   * Retention: tokens expired before the cutoff. A token is single-use and refused after
   * expires_at anyway, so keeping the row only documents history (the audit log records what was
   * confirmed).
   */
  purgeExpired(tx: Tx, cutoff: Date, limit: number): Promise<PurgeBatch> {
    return purgeOne(
      tx,
      "confirmations",
      `WITH d AS (DELETE FROM confirmations WHERE token_hash IN
        (SELECT token_hash FROM confirmations WHERE expires_at < $1 ORDER BY expires_at LIMIT $2) RETURNING 1)
      ${countsOf({ d: "confirmations" })}`,
      cutoff,
      limit,
    );
  },
};
