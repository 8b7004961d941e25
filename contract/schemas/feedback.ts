import { type Static, Type } from "typebox";
import { Uuid } from "./common.ts";

/** Ratings of runs, steps and LLM calls (`/api/feedback`): they join the KPIs and the training export. */

const StepId = Type.String({ pattern: "^[a-z][a-z0-9_-]{0,63}$" });

/** Rates exactly one thing: a run (runId), a step of a run (runId + stepId), or an LLM call (callId). */
export const FeedbackBody = Type.Object(
  {
    runId: Type.Optional(Uuid),
    stepId: Type.Optional(StepId),
    callId: Type.Optional(Uuid),
    score: Type.Integer({ minimum: 1, maximum: 5, description: "1 (bad) to 5 (good)" }),
    comment: Type.Optional(Type.String({ minLength: 1, maxLength: 4_000 })),
  },
  { additionalProperties: false },
);

export const FeedbackQuery = Type.Object(
  {
    runId: Type.Optional(Uuid),
    callId: Type.Optional(Uuid),
    limit: Type.Optional(
      Type.String({ pattern: "^(?:[1-9][0-9]{0,2}|1000)$", description: "1..1000, default 100" }),
    ),
  },
  { additionalProperties: false },
);

export const FEEDBACK_TARGET_KINDS = ["run", "step", "llm_call"] as const;
export type FeedbackTargetKind = (typeof FEEDBACK_TARGET_KINDS)[number];

/** What a rating is about: a whole run, one step of a run, or one recorded LLM call. */
export const FeedbackTarget = Type.Union([
  Type.Object({ kind: Type.Literal("run"), runId: Uuid }),
  Type.Object({ kind: Type.Literal("step"), runId: Uuid, stepId: Type.String() }),
  Type.Object({ kind: Type.Literal("llm_call"), callId: Uuid }),
]);
export type FeedbackTarget = Static<typeof FeedbackTarget>;

/** One rating as recorded. */
export const FeedbackView = Type.Object({
  id: Uuid,
  at: Type.String({ format: "date-time" }),
  target: FeedbackTarget,
  score: Type.Integer({ minimum: 1, maximum: 5 }),
  comment: Type.Union([Type.String(), Type.Null()]),
  author: Type.String({ description: "who rated (the actor, as in the audit log)" }),
});
export type FeedbackView = Static<typeof FeedbackView>;

export const FeedbackListReply = Type.Object({
  feedback: Type.Array(FeedbackView, { description: "newest first" }),
});
