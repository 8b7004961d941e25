import { Type } from "typebox";
import { MAX_PRIORITY, NonNegativeIntText, PositiveIntText, Uuid } from "./common.ts";

export { NonNegativeIntText, PositiveIntText };

/** Steps the daemon runs itself, without an agent. */
export const BUILTIN_STEPS = ["verify-input", "budget-check", "finalize"] as const;
export type BuiltinStepName = (typeof BUILTIN_STEPS)[number];

/** A run's states; the last three are terminal. */
export const RUN_STATES = ["running", "paused", "snoozed", "completed", "failed", "cancelled"] as const;
export type RunState = (typeof RUN_STATES)[number];
/** A step's states within its run (a generation of it: an operator retry starts a new one). */
export const STEP_STATES = ["pending", "running", "completed", "failed", "skipped", "cancelled"] as const;
export type StepState = (typeof STEP_STATES)[number];
/** What a condition on an earlier step's output can test. */
export const CONDITION_OPS = ["equals", "notEquals", "in", "exists", "truthy"] as const;
/** The JSON types a template parameter can have. */
export const PARAMETER_TYPES = ["string", "number", "boolean", "object", "array"] as const;
/** Where a stored template version came from. */
export const TEMPLATE_SOURCES = ["builtin", "api", "file"] as const;

/** Schemas of the pipeline template, run and run-action routes (shape only; meaning is checked in the daemon). */
const Id64 = Type.String({ pattern: "^[a-z][a-z0-9_-]{0,63}$" });
export const TemplateName = Type.String({ pattern: "^[a-z][a-z0-9._-]{0,63}$" });

const Condition = Type.Object(
  {
    step: Id64,
    path: Type.Optional(Type.String({ maxLength: 256 })),
    op: Type.Union(CONDITION_OPS.map((op) => Type.Literal(op))),
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
            type: Type.Union(PARAMETER_TYPES.map((t) => Type.Literal(t))),
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

export const RunStateName = Type.Union(RUN_STATES.map((s) => Type.Literal(s)));
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

// ---------------------------------------------------------------------------------------------
// Answers. Fastify serialises them with these schemas (a property left out here is dropped from
// the answer), so each lists exactly what the daemon sends. Times are ISO 8601 (UTC).

const Time = Type.String({ format: "date-time" });
const NullableTime = Type.Union([Time, Type.Null()]);
const NullableString = Type.Union([Type.String(), Type.Null()]);
const JsonObject = Type.Record(Type.String(), Type.Unknown());

/**
 * A step's executor as stored. Looser than the request schema (no additionalProperties: false, no
 * patterns): an answer must never fail to serialise over a template file's extra key.
 */
export const StepExecutorView = Type.Union([
  Type.Object({ kind: Type.Literal("agent"), capability: Type.String() }),
  Type.Object({ kind: Type.Literal("builtin"), name: Type.Enum(BUILTIN_STEPS) }),
]);

const StepDefinitionView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  executor: StepExecutorView,
  dependsOn: Type.Optional(Type.Array(Type.String())),
  band: Type.Optional(Type.Array(Type.Number(), { description: "[from, to] in percent" })),
  weight: Type.Optional(Type.Number()),
  timeoutMs: Type.Optional(Type.Integer()),
  retry: Type.Optional(Type.Object({ maxAttempts: Type.Integer() })),
  condition: Type.Optional(
    Type.Object({
      step: Type.String(),
      path: Type.Optional(Type.String()),
      op: Type.Enum(CONDITION_OPS),
      value: Type.Optional(Type.Unknown()),
    }),
  ),
  params: Type.Optional(JsonObject),
});

/** A template's definition as stored (what PUT took, or a built-in's or a file's). */
export const TemplateDefinitionView = Type.Object({
  name: Type.String(),
  description: Type.Optional(Type.String()),
  parameters: Type.Optional(
    Type.Record(
      Type.String(),
      Type.Object({
        type: Type.Enum(PARAMETER_TYPES),
        required: Type.Optional(Type.Boolean()),
        default: Type.Optional(Type.Unknown()),
        description: Type.Optional(Type.String()),
        minimum: Type.Optional(Type.Number()),
        maximum: Type.Optional(Type.Number()),
      }),
    ),
  ),
  steps: Type.Array(StepDefinitionView),
});

const templateFields = {
  name: Type.String(),
  version: Type.Integer({ description: "versions are immutable; a changed definition adds one" }),
  definition: TemplateDefinitionView,
  source: Type.Enum(TEMPLATE_SOURCES),
  createdAt: Time,
};
/** One version of a template. */
export const TemplateView = Type.Object(templateFields);
/** The latest version of every template, with how many versions each has. */
export const TemplateList = Type.Object({
  templates: Type.Array(Type.Object({ ...templateFields, versions: Type.Integer() })),
});
/** PUT's answer: the version now latest; `created` is false when the definition equalled it (200). */
export const SavedTemplate = Type.Object({ ...templateFields, created: Type.Boolean() });

const runSummaryFields = {
  id: Uuid,
  template: Type.String(),
  templateVersion: Type.Integer(),
  state: Type.Enum(RUN_STATES),
  percent: Type.Number({ description: "0–100; never goes down; 100 only once completed" }),
  priority: Type.Integer(),
  escalated: Type.Boolean(),
  input: Type.Unknown({ description: "the run's input, with the template's defaults filled in" }),
  output: Type.Unknown({ description: "completed: every completed step's output by step id; else null" }),
  error: Type.Unknown({ description: "failed or cancelled: {message, failedSteps?}; else null" }),
  scheduleId: Type.Union([Uuid, Type.Null()]),
  snoozedUntil: NullableTime,
  createdAt: Time,
  updatedAt: Time,
  finishedAt: NullableTime,
};
/** A run without its steps (lists, and the answer to an operator action). */
export const RunSummary = Type.Object(runSummaryFields);

/** One step of a run, in the template's (topological) order. */
export const StepView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  executor: StepExecutorView,
  state: Type.Enum(STEP_STATES),
  generation: Type.Integer({ description: "operator retries of the step so far" }),
  taskId: Type.Union([Uuid, Type.Null()]),
  agentId: Type.Union([Uuid, Type.Null()]),
  attempts: Type.Integer(),
  progress: Type.Union([Type.Number(), Type.Null()]),
  message: NullableString,
  inputOverride: Type.Union([JsonObject, Type.Null()], {
    description: "params an operator set before the step started",
  }),
  output: Type.Unknown(),
  error: Type.Unknown(),
  skipReason: NullableString,
  startedAt: NullableTime,
  finishedAt: NullableTime,
  durationMs: Type.Union([Type.Integer(), Type.Null()]),
});

/** One entry of a run's durable timeline. */
export const RunEvent = Type.Object({
  id: Type.Integer(),
  at: Time,
  type: Type.String({ description: "e.g. run.started, step.completed, action.pause" }),
  stepId: NullableString,
  data: Type.Unknown(),
});

/** A run as clients show it: percent, current step, elapsed time, ETA, steps and latest 200 events. */
export const RunView = Type.Object({
  ...runSummaryFields,
  elapsedMs: Type.Integer(),
  eta: Type.Object(
    {
      remainingMs: Type.Union([Type.Integer(), Type.Null()], {
        description: "ms from now to `at`; 0 for a finished run; null when there is no estimate",
      }),
      at: Type.Union([Time, Type.Null()], {
        description:
          "when the run is expected to end: never before a snoozed run's snoozedUntil; a finished run's finishedAt",
      }),
      method: Type.Enum(["history", "rate", "none"], {
        description:
          "history: median step durations of earlier runs; rate: elapsed / percent; none: no estimate (or finished)",
      }),
    },
    {
      description:
        "A snoozed run's remaining work starts when its snooze ends; a finished run (completed, failed, cancelled) reports its finish time",
    },
  ),
  currentStep: Type.Union([
    Type.Object({ id: Type.String(), name: Type.String(), message: NullableString }),
    Type.Null(),
  ]),
  steps: Type.Array(StepView),
  events: Type.Array(RunEvent),
});

export const RunList = Type.Object({
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
  runs: Type.Array(RunSummary),
});
