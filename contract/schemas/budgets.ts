import { Type } from "typebox";

export const BUDGET_SCOPES = ["global", "template", "role"] as const;
export type BudgetScope = (typeof BUDGET_SCOPES)[number];
export const BUDGET_PERIODS = ["day", "month"] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

// The column is numeric(14, 6): a smaller value would round to 0 (refused by its CHECK), a larger one overflow.
const Usd = Type.Number({
  minimum: 0.000001,
  maximum: 99_999_999.999999,
  description: "US dollars, 6 decimals",
});
const NullableUsd = Type.Union([Usd, Type.Null()]);
const OnHard = Type.Union([Type.Literal("block"), Type.Literal("approval")], {
  description:
    "What the mission's budget step does over the hard limit: fail the run, or wait for an operator",
});
const Description = Type.Union([Type.String({ maxLength: 2_000 }), Type.Null()]);

export const NewBudgetBody = Type.Object(
  {
    scope: Type.Union(BUDGET_SCOPES.map((s) => Type.Literal(s))),
    target: Type.Optional(
      Type.String({
        pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description: "The template (scope template) or agent role (scope role); absent for global",
      }),
    ),
    period: Type.Union(
      BUDGET_PERIODS.map((p) => Type.Literal(p)),
      { description: "UTC day or calendar month" },
    ),
    softLimitUsd: Type.Optional(NullableUsd),
    hardLimitUsd: Type.Optional(NullableUsd),
    onHard: Type.Optional(OnHard),
    description: Type.Optional(Description),
  },
  { additionalProperties: false },
);

export const BudgetPatchBody = Type.Object(
  {
    softLimitUsd: Type.Optional(NullableUsd),
    hardLimitUsd: Type.Optional(NullableUsd),
    onHard: Type.Optional(OnHard),
    description: Type.Optional(Description),
  },
  { additionalProperties: false, minProperties: 1 },
);
