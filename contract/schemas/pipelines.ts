import { Type } from "typebox";
import { MAX_PRIORITY, Uuid } from "./common.ts";

/** Steps the daemon runs itself, without an agent. */
export const BUILTIN_STEPS = ["verify-input", "budget-check", "finalize"] as const;
export type BuiltinStepName = (typeof BUILTIN_STEPS)[number];

/** Schemas of the pipeline template, run and run-action routes (shape only; meaning is checked in the daemon). */
const Id64 = Type.String({ pattern: "^[a-z][a-z0-9_-]{0,63}$" });
export const TemplateName = Type.String({ pattern: "^[a-z][a-z0-9._-]{0,63}$" });

const Condition = Type.Object(
  {
    step: Id64,
    path: Type.Optional(Type.String({ maxLength: 256 })),
    op: Type.Union(["equals", "notEquals", "in", "exists", "truthy"].map((op) => Type.Literal(op))),
    value: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

const Step = Type.Object(
  {
    id: Id64,
    name: Type.String({ minLength: 1, maxLength: 128 }),
    executor: Type.Union([
      Type.Object(
        {
          kind: Type.Literal("agent"),
          capability: Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$" }),
        },
        { additionalProperties: false },
      ),
      Type.Object(
        { kind: Type.Literal("builtin"), name: Type.Union(BUILTIN_STEPS.map((n) => Type.Literal(n))) },
        { additionalProperties: false },
      ),
    ]),
    dependsOn: Type.Optional(Type.Array(Id64, { maxItems: 100 })),
    // A pair as an array of two (not a tuple schema): OpenAPI 3.0 has no tuples, 3.1 spells them otherwise.
    band: Type.Optional(
      Type.Array(Type.Number({ minimum: 0, maximum: 100 }), {
        minItems: 2,
        maxItems: 2,
        description: "[from, to]: the run's percent range this step covers",
      }),
    ),
    weight: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000 })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 7 * 86_400_000 })),
    retry: Type.Optional(
      Type.Object(
        { maxAttempts: Type.Integer({ minimum: 1, maximum: 1_000 }) },
        { additionalProperties: false },
      ),
    ),
    condition: Type.Optional(Condition),
    params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

export const TemplateBody = Type.Object(
  {
    name: TemplateName,
    description: Type.Optional(Type.String({ maxLength: 2_000 })),
    parameters: Type.Optional(
      Type.Record(
        Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]{0,63}$" }),
        Type.Object(
          {
            type: Type.Union(["string", "number", "boolean", "object", "array"].map((t) => Type.Literal(t))),
            required: Type.Optional(Type.Boolean()),
            default: Type.Optional(Type.Unknown()),
            description: Type.Optional(Type.String({ maxLength: 2_000 })),
            minimum: Type.Optional(
              Type.Number({ description: "number parameters: the least value accepted" }),
            ),
            maximum: Type.Optional(
              Type.Number({ description: "number parameters: the greatest value accepted" }),
            ),
          },
          { additionalProperties: false },
        ),
      ),
    ),
    steps: Type.Array(Step, { minItems: 1, maxItems: 100 }),
  },
  { additionalProperties: false },
);

export const TemplateParams = Type.Object({ template: TemplateName });
/** Query strings are not coerced (a number arrives as text), so numbers are patterns here. */
export const PositiveIntText = Type.String({ pattern: "^[1-9][0-9]{0,8}$" });
export const NonNegativeIntText = Type.String({ pattern: "^(0|[1-9][0-9]{0,8})$" });
export const TemplateVersionQuery = Type.Object({ version: Type.Optional(PositiveIntText) });

export const ExecuteBody = Type.Object(
  {
    input: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    priority: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_PRIORITY })),
    idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  },
  { additionalProperties: false },
);
export const ExecuteReply = Type.Object({ id: Uuid, deduplicated: Type.Boolean() });

export const RunStateName = Type.Union(
  ["running", "paused", "snoozed", "completed", "failed", "cancelled"].map((s) => Type.Literal(s)),
);
export const RunListQuery = Type.Object({
  template: Type.Optional(TemplateName),
  state: Type.Optional(RunStateName),
  from: Type.Optional(Type.String({ format: "date-time" })),
  to: Type.Optional(Type.String({ format: "date-time" })),
  limit: Type.Optional(PositiveIntText),
  offset: Type.Optional(NonNegativeIntText),
});

export const StepParams = Type.Object({ id: Uuid, stepId: Id64 });
export const ReasonBody = Type.Object(
  { reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2_000 })) },
  { additionalProperties: false },
);
export const BudgetDecisionBody = Type.Object(
  { comment: Type.Optional(Type.String({ minLength: 1, maxLength: 2_000 })) },
  { additionalProperties: false },
);
export const SkipBody = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 2_000 }) },
  { additionalProperties: false },
);
export const SnoozeBody = Type.Object(
  { until: Type.String({ format: "date-time" }) },
  { additionalProperties: false },
);
export const EscalateBody = Type.Object(
  {
    priority: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_PRIORITY })),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2_000 })),
  },
  { additionalProperties: false },
);
export const ModifyInputBody = Type.Object(
  { params: Type.Record(Type.String(), Type.Unknown()) },
  { additionalProperties: false },
);
