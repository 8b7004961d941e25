import { randomUUID } from "node:crypto";
import { OverseerError } from "../errors/overseer-error.ts";
import type { EventBus } from "../events/event-bus.ts";
import { type Db, withTransaction } from "../store/pg-pool.ts";

/** What a rating is about: a whole run, one step of a run, or one recorded LLM call. */
export type FeedbackTarget =
  | { kind: "run"; runId: string }
  | { kind: "step"; runId: string; stepId: string }
  | { kind: "llm_call"; callId: string };

export interface NewFeedback {
  target: FeedbackTarget;
  /** 1 (bad) to 5 (good). */
  score: number;
  comment?: string;
}

export interface FeedbackRow {
  id: string;
  at: string;
  target: FeedbackTarget;
  score: number;
  comment: string | null;
  author: string;
}

interface DbRow {
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

function toRow(r: DbRow): FeedbackRow {
  const target: FeedbackTarget =
    r.target_kind === "llm_call"
      ? { kind: "llm_call", callId: r.call_id as string }
      : r.target_kind === "step"
        ? { kind: "step", runId: r.run_id as string, stepId: r.step_id as string }
        : { kind: "run", runId: r.run_id as string };
  return { id: r.id, at: r.at.toISOString(), target, score: r.score, comment: r.comment, author: r.author };
}

const missing = (what: string) =>
  new OverseerError("OVS_ERR_FEEDBACK_TARGET_NOT_FOUND", `${what} does not exist`);

/**
 * Ratings of runs, steps and LLM calls. Each rating is its own row (several people may rate the
 * same thing); KPIs average them and the training export filters on them.
 */
export class FeedbackService {
  constructor(
    private readonly db: Db,
    private readonly bus: EventBus,
    private readonly newId: () => string = randomUUID,
  ) {}

  async record(input: NewFeedback, author: string): Promise<FeedbackRow> {
    const t = input.target;
    const id = this.newId();
    const row = await withTransaction(this.db, async (c) => {
      // The target must exist now; a step must be one of the run's steps.
      if (t.kind === "llm_call") {
        const r = await c.query("SELECT 1 FROM llm_calls WHERE id = $1", [t.callId]);
        if (r.rowCount === 0) throw missing(`LLM call ${t.callId}`);
      } else {
        const r = await c.query<{ has_step: boolean }>(
          `SELECT EXISTS (SELECT 1 FROM pipeline_steps s WHERE s.run_id = r.id AND s.step_id = $2) AS has_step
           FROM pipeline_runs r WHERE r.id = $1`,
          [t.runId, t.kind === "step" ? t.stepId : ""],
        );
        if (r.rows.length === 0) throw missing(`run ${t.runId}`);
        if (t.kind === "step" && !r.rows[0]?.has_step) throw missing(`step ${t.stepId} of run ${t.runId}`);
      }
      const r = await c.query<DbRow>(
        `INSERT INTO feedback (id, target_kind, run_id, step_id, call_id, score, comment, author)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
        [
          id,
          t.kind,
          t.kind === "llm_call" ? null : t.runId,
          t.kind === "step" ? t.stepId : null,
          t.kind === "llm_call" ? t.callId : null,
          input.score,
          input.comment ?? null,
          author,
        ],
      );
      return toRow(r.rows[0] as DbRow);
    });
    this.bus.emit("feedback.recorded", { feedbackId: row.id, targetKind: t.kind, score: row.score });
    return row;
  }

  /** Ratings of a run (its steps' included) or of a call, newest first. */
  async list(filter: { runId?: string; callId?: string; limit: number }): Promise<FeedbackRow[]> {
    const r = await this.db.query<DbRow>(
      `SELECT * FROM feedback
       WHERE ($1::uuid IS NULL OR run_id = $1) AND ($2::uuid IS NULL OR call_id = $2)
       ORDER BY at DESC, id LIMIT $3`,
      [filter.runId ?? null, filter.callId ?? null, filter.limit],
    );
    return r.rows.map(toRow);
  }
}
