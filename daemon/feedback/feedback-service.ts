import { randomUUID } from "node:crypto";
import type { FeedbackTarget, FeedbackView } from "../../contract/schemas/feedback.ts";
import { OverseerError } from "../errors/overseer-error.ts";
import type { EventBus } from "../events/event-bus.ts";
import { feedbackStore } from "../store/feedback-store.ts";
import { type Db, withTransaction } from "../store/pg-pool.ts";

export type { FeedbackTarget };

export interface NewFeedback {
  target: FeedbackTarget;
  /** 1 (bad) to 5 (good). */
  score: number;
  comment?: string;
}

/** One rating as recorded (the contract's FeedbackView). */
export type FeedbackRow = FeedbackView;

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
        if (!(await feedbackStore.callExists(c, t.callId))) throw missing(`LLM call ${t.callId}`);
      } else {
        const found = await feedbackStore.runAndStep(c, t.runId, t.kind === "step" ? t.stepId : "");
        if (!found.run) throw missing(`run ${t.runId}`);
        if (t.kind === "step" && !found.step) throw missing(`step ${t.stepId} of run ${t.runId}`);
      }
      return feedbackStore.insert(c, {
        id,
        target: t,
        score: input.score,
        comment: input.comment ?? null,
        author,
      });
    });
    this.bus.emit("feedback.recorded", { feedbackId: row.id, targetKind: t.kind, score: row.score });
    return row;
  }

  /** Ratings of a run (its steps' included) or of a call, newest first. */
  list(filter: { runId?: string; callId?: string; limit: number }): Promise<FeedbackRow[]> {
    return feedbackStore.list(this.db, filter);
  }
}
