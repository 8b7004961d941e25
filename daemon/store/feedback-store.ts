import type { FeedbackTarget, FeedbackView } from "../../contract/schemas/feedback.ts";
import type { Queryable, Tx } from "./pg-pool.ts";
import { countsOf, type PurgeBatch, purgeOne } from "./purge-batch.ts";

interface FeedbackDbRow {
  id: string;
  at: Date;
  target_kind: FeedbackTarget["kind"];
  run_id: string | null;
  step_id: string | null;
  call_id: string | null;
  score: number;
  comment: string | null;
  author: string;
}

function toView(r: FeedbackDbRow): FeedbackView {
  const target: FeedbackTarget =
    r.target_kind === "llm_call"
      ? { kind: "llm_call", callId: r.call_id as string }
      : r.target_kind === "step"
        ? { kind: "step", runId: r.run_id as string, stepId: r.step_id as string }
        : { kind: "run", runId: r.run_id as string };
  return { id: r.id, at: r.at.toISOString(), target, score: r.score, comment: r.comment, author: r.author };
}

/**
 * The `feedback` table (its one writer): ratings of runs, steps and LLM calls, one row per rating,
 * and the reads that check a rating's target exists.
 */
export const feedbackStore = {
  async insert(
    q: Queryable,
    f: { id: string; target: FeedbackTarget; score: number; comment: string | null; author: string },
  ): Promise<FeedbackView> {
    const t = f.target;
    const r = await q.query<FeedbackDbRow>(
      `INSERT INTO feedback (id, target_kind, run_id, step_id, call_id, score, comment, author)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
      [
        f.id,
        t.kind,
        t.kind === "llm_call" ? null : t.runId,
        t.kind === "step" ? t.stepId : null,
        t.kind === "llm_call" ? t.callId : null,
        f.score,
        f.comment,
        f.author,
      ],
    );
    return toView(r.rows[0] as FeedbackDbRow);
  },

  /** Ratings of a run (its steps' included) or of a call, newest first. */
  async list(
    q: Queryable,
    filter: { runId?: string; callId?: string; limit: number },
  ): Promise<FeedbackView[]> {
    const r = await q.query<FeedbackDbRow>(
      `SELECT * FROM feedback
       WHERE ($1::uuid IS NULL OR run_id = $1) AND ($2::uuid IS NULL OR call_id = $2)
       ORDER BY at DESC, id LIMIT $3`,
      [filter.runId ?? null, filter.callId ?? null, filter.limit],
    );
    return r.rows.map(toView);
  },

  /** Whether a recorded LLM call of this id exists. */
  async callExists(q: Queryable, callId: string): Promise<boolean> {
    const r = await q.query("SELECT 1 FROM llm_calls WHERE id = $1", [callId]);
    return (r.rowCount ?? 0) > 0;
  },

  /** Whether the run exists, and whether `stepId` is one of its steps ('' for none). */
  async runAndStep(q: Queryable, runId: string, stepId: string): Promise<{ run: boolean; step: boolean }> {
    const r = await q.query<{ has_step: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pipeline_steps s WHERE s.run_id = r.id AND s.step_id = $2) AS has_step
       FROM pipeline_runs r WHERE r.id = $1`,
      [runId, stepId],
    );
    const row = r.rows[0];
    return { run: row !== undefined, step: row?.has_step === true };
  },

  /** Retention: ratings older than the cutoff, oldest first, at most `limit`. */
  purgeBefore(tx: Tx, cutoff: Date, limit: number): Promise<PurgeBatch> {
    return purgeOne(
      tx,
      "feedback",
      `WITH d AS (DELETE FROM feedback WHERE id IN
        (SELECT id FROM feedback WHERE at < $1 ORDER BY at LIMIT $2) RETURNING 1)
      ${countsOf({ d: "feedback" })}`,
      cutoff,
      limit,
    );
  },
};
