import { Type } from "typebox";
import { figureNote } from "../figures.ts";
import { CONVERSATION_STATES } from "./artifacts.ts";
import { NonNegativeIntText, PositiveIntText, Uuid } from "./common.ts";
import { RunStateName, RunSummary, RunView, TemplateName } from "./pipelines.ts";

/** The workflow dashboards' reads of pipeline runs: history, details, statistics, performance, queue. */

const Time = Type.String({ format: "date-time" });
const NullableInteger = Type.Union([Type.Integer(), Type.Null()]);

/** Which runs a workflow read covers: one template, and runs created in [from, to). */
const range = {
  template: Type.Optional(TemplateName),
  from: Type.Optional(Type.String({ format: "date-time" })),
  to: Type.Optional(Type.String({ format: "date-time" })),
};
export const WorkflowRangeQuery = Type.Object(range);
export const WorkflowHistoryQuery = Type.Object({
  ...range,
  state: Type.Optional(RunStateName),
  limit: Type.Optional(PositiveIntText),
  offset: Type.Optional(NonNegativeIntText),
});
export const WorkflowPendingQuery = Type.Object({ ...range, limit: Type.Optional(PositiveIntText) });

/** Finished runs (or runs in `state`), newest finished first. */
export const WorkflowHistory = Type.Object({
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
  runs: Type.Array(
    Type.Object({
      ...RunSummary.properties,
      durationMs: Type.Integer({ description: "created to finished; 0 while not finished" }),
    }),
  ),
});

/** A run with its artifacts, conversations and the operator actions taken on it. */
export const WorkflowDetails = Type.Object({
  run: RunView,
  artifacts: Type.Array(
    Type.Object({
      id: Uuid,
      stepId: Type.Union([Type.String(), Type.Null()]),
      type: Type.String(),
      title: Type.String(),
      createdAt: Time,
    }),
  ),
  conversations: Type.Array(
    Type.Object({
      id: Uuid,
      stepId: Type.String(),
      title: Type.String(),
      state: Type.Enum(CONVERSATION_STATES),
    }),
  ),
  audit: Type.Array(
    Type.Object({
      at: Time,
      actor: Type.String(),
      action: Type.String(),
      reason: Type.Union([Type.String(), Type.Null()]),
      data: Type.Unknown(),
    }),
  ),
});

/** Counts, success rate and durations by template. */
export const WorkflowStatistics = Type.Object({
  templates: Type.Array(
    Type.Object({
      template: Type.String(),
      total: Type.Integer(),
      byState: Type.Object({
        running: Type.Integer(),
        paused: Type.Integer(),
        snoozed: Type.Integer(),
        completed: Type.Integer(),
        failed: Type.Integer(),
        cancelled: Type.Integer(),
      }),
      successRate: Type.Union([Type.Number(), Type.Null()], {
        description: figureNote("run_success_rate", "here: runs created in [from, to) of this template"),
      }),
      avgDurationMs: NullableInteger,
      p95DurationMs: NullableInteger,
    }),
  ),
});

/** Step durations, retries and failures by template and step, and each template's slowest step. */
export const WorkflowPerformance = Type.Object({
  templates: Type.Array(
    Type.Object({
      template: Type.String(),
      bottleneckStep: Type.Union([Type.String(), Type.Null()]),
      steps: Type.Array(
        Type.Object({
          stepId: Type.String(),
          executions: Type.Integer(),
          completed: Type.Integer(),
          failed: Type.Integer(),
          retries: Type.Integer(),
          avgDurationMs: NullableInteger,
          p95DurationMs: NullableInteger,
        }),
      ),
    }),
  ),
});

/** Runs not yet finished, most urgent first: escalated, then priority, then oldest. */
export const WorkflowPending = Type.Object({
  runs: Type.Array(
    Type.Object({
      ...RunSummary.properties,
      currentStep: Type.Union([Type.String(), Type.Null()]),
      message: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
});
