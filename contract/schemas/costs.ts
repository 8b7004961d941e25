import { type Static, Type } from "typebox";
import { figureNote } from "../figures.ts";
import { LLM_CALL_ERROR_TYPES } from "./llm.ts";
import { TemplateName } from "./pipelines.ts";

/**
 * The cost and usage reads over recorded LLM calls (`/api/metrics/costs*`, `/api/metrics/usage`).
 * Every answer names its window `[from, to)`; an empty window answers zeros, empty lists and nulls.
 */

const Time = Type.String({ format: "date-time" });
const Count = Type.Integer({ minimum: 0 });
const Tokens = Type.Integer({ minimum: 0 });
const NullableMs = Type.Union([Type.Integer(), Type.Null()]);

/** The window of a cost read; both ends are optional (default: the 30 days before now). */
const Window = {
  from: Type.Optional(
    Type.String({ format: "date-time", description: "inclusive; default: 30 days before to" }),
  ),
  to: Type.Optional(Type.String({ format: "date-time", description: "exclusive; default: now" })),
};
export const CostWindowQuery = Type.Object(Window);
export const CostByPhaseQuery = Type.Object({ ...Window, template: Type.Optional(TemplateName) });

export const COST_BUCKETS = ["hour", "day"] as const;
export type CostBucket = (typeof COST_BUCKETS)[number];
export const CostHistoryQuery = Type.Object({
  ...Window,
  bucket: Type.Optional(
    Type.Union(
      COST_BUCKETS.map((b) => Type.Literal(b)),
      { description: "UTC hour or day; default day" },
    ),
  ),
});

/** What a set of calls cost and used. */
export const CostTotals = Type.Object({
  totalUsd: Type.Number({ description: figureNote("cost_usd", "US dollars, 8 decimals, of these calls") }),
  calls: Count,
  inputTokens: Tokens,
  outputTokens: Tokens,
  unpricedCalls: Type.Integer({ minimum: 0, description: "calls of models without a price (cost 0)" }),
});
export type CostTotals = Static<typeof CostTotals>;

const WindowEnds = { from: Time, to: Time };

export const CostsReply = Type.Object({
  ...CostTotals.properties,
  byRole: Type.Array(Type.Object({ role: Type.String(), ...CostTotals.properties }), {
    description: "most expensive first",
  }),
  ...WindowEnds,
});
export type CostsReply = Static<typeof CostsReply>;

export const CostByPhaseReply = Type.Object({
  ...WindowEnds,
  template: Type.Union([Type.String(), Type.Null()], { description: "the template filter, if any" }),
  steps: Type.Array(
    Type.Object({
      template: Type.Union([Type.String(), Type.Null()], { description: "null: calls outside any run" }),
      stepId: Type.Union([Type.String(), Type.Null()], { description: "null: calls outside any step" }),
      ...CostTotals.properties,
    }),
  ),
});
export type CostByPhaseReply = Static<typeof CostByPhaseReply>;

export const CostByModelReply = Type.Object({
  ...WindowEnds,
  models: Type.Array(
    Type.Object({ provider: Type.String(), model: Type.String(), ...CostTotals.properties }),
    { description: "most expensive first" },
  ),
});
export type CostByModelReply = Static<typeof CostByModelReply>;

export const CostHistoryReply = Type.Object({
  ...WindowEnds,
  bucket: Type.Enum(COST_BUCKETS),
  buckets: Type.Array(Type.Object({ start: Time, ...CostTotals.properties }), {
    description: "only buckets that have calls, oldest first",
  }),
});
export type CostHistoryReply = Static<typeof CostHistoryReply>;

/** Calls, errors, tokens, latency and time to first token of a set of calls. */
export const LlmUsage = Type.Object({
  calls: Count,
  errors: Count,
  tokens: Type.Object({
    input: Tokens,
    output: Tokens,
    total: Tokens,
    estimated: Type.Integer({ minimum: 0, description: "tokens counted by the client, not reported" }),
  }),
  latencyMs: Type.Object({ avg: NullableMs, p95: NullableMs }),
  ttftMs: Type.Object({ avg: NullableMs, p95: NullableMs }),
});
export type LlmUsage = Static<typeof LlmUsage>;

export const UsageReply = Type.Object({
  ...WindowEnds,
  ...LlmUsage.properties,
  errorsByType: Type.Array(Type.Object({ errorType: Type.Enum(LLM_CALL_ERROR_TYPES), calls: Count })),
  byModel: Type.Array(
    Type.Object({ provider: Type.String(), model: Type.String(), ...LlmUsage.properties }),
    {
      description: "most calls first",
    },
  ),
});
export type UsageReply = Static<typeof UsageReply>;
