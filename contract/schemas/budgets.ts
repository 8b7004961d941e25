import { type Static, Type } from "typebox";
import { Uuid } from "./common.ts";

export const BUDGET_SCOPES = ["global", "template", "role"] as const;
export type BudgetScope = (typeof BUDGET_SCOPES)[number];
export const BUDGET_PERIODS = ["day", "month"] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];
/** What a mission's budget step does over the hard limit: fail the run, or wait for an operator. */
export const ON_HARD_LIMIT = ["block", "approval"] as const;
export type OnHardLimit = (typeof ON_HARD_LIMIT)[number];
/** Spend against a budget's limits now: within both, over the soft one, over the hard one. */
export const BUDGET_STATES = ["ok", "warning", "exceeded"] as const;
export type BudgetState = (typeof BUDGET_STATES)[number];
export const APPROVAL_STATES = ["pending", "approved", "rejected"] as const;
export type ApprovalStateName = (typeof APPROVAL_STATES)[number];

// The column is numeric(14, 6): a smaller value would round to 0 (refused by its CHECK), a larger one overflow.
const Usd = Type.Number({
  minimum: 0.000001,
  maximum: 99_999_999.999999,
  description: "US dollars, 6 decimals",
});
const NullableUsd = Type.Union([Usd, Type.Null()]);
const OnHard = Type.Union(
  ON_HARD_LIMIT.map((o) => Type.Literal(o)),
  {
    description:
      "What the mission's budget step does over the hard limit: fail the run, or wait for an operator",
  },
);
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

const Time = Type.String({ format: "date-time" });
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);

/** A budget as stored. */
export const BudgetView = Type.Object({
  id: Uuid,
  scope: Type.Enum(BUDGET_SCOPES),
  target: Type.String({ description: "'' for global; the template or role name otherwise" }),
  period: Type.Enum(BUDGET_PERIODS),
  softLimitUsd: NullableNumber,
  hardLimitUsd: NullableNumber,
  onHard: Type.Enum(ON_HARD_LIMIT),
  description: Type.Union([Type.String(), Type.Null()]),
  createdBy: Type.String(),
  createdAt: Time,
  updatedAt: Time,
});
export type BudgetView = Static<typeof BudgetView>;

export const BudgetListReply = Type.Object({
  budgets: Type.Array(BudgetView, { description: "by scope, target and period" }),
});

/** A budget with its current period's spend, use, burn rate and state. */
export const BudgetStatusView = Type.Object({
  ...BudgetView.properties,
  spentUsd: Type.Number({ description: "what the budget's scope spent in the current period" }),
  periodStart: Time,
  periodEnd: Time,
  softUsed: Type.Union([Type.Number(), Type.Null()], {
    description: "spent / soft limit; null without one",
  }),
  hardUsed: Type.Union([Type.Number(), Type.Null()], {
    description: "spent / hard limit; null without one",
  }),
  burnRate: Type.Number({
    description: "(spent / limit) / elapsed part of the period: 1 spends exactly the limit by its end",
  }),
  projectedUsd: Type.Number({ description: "spend at the period's end if the rate so far goes on" }),
  state: Type.Enum(BUDGET_STATES),
});
export type BudgetStatusView = Static<typeof BudgetStatusView>;

export const BudgetStatusReply = Type.Object({
  at: Time,
  budgets: Type.Array(BudgetStatusView),
  pendingApprovals: Type.Integer({ minimum: 0, description: "budget steps waiting for an operator" }),
});

/** A mission's budget step waiting for an operator to approve or reject going over a hard limit. */
export const PendingApproval = Type.Object({
  runId: Uuid,
  stepId: Type.String(),
  generation: Type.Integer(),
  template: Type.String(),
  reason: Type.Unknown({ description: "the budget step's verdict: the budgets and what they exceeded" }),
  requestedAt: Time,
});
export type PendingApproval = Static<typeof PendingApproval>;

export const PendingApprovalsReply = Type.Object({
  pending: Type.Array(PendingApproval, { description: "oldest request first" }),
});
