import Fastify from "fastify";
import type { Static, TSchema } from "typebox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PIPELINE_ROUTES } from "../../contract/routes/pipelines.ts";
import { SCHEDULE_ROUTES } from "../../contract/routes/schedules.ts";
import { WORKFLOW_ROUTES } from "../../contract/routes/workflow.ts";
import { ConversationWithMessages } from "../../contract/schemas/artifacts.ts";
import { RunView, TemplateView } from "../../contract/schemas/pipelines.ts";
import { ScheduleWithTicks } from "../../contract/schemas/schedules.ts";
import { WorkflowStatistics } from "../../contract/schemas/workflow.ts";
import { runSummary } from "../../daemon/pipelines/run-views.ts";
import { scheduleView } from "../../daemon/schedules/schedule-service.ts";
import type { RunRow } from "../../daemon/store/pipeline-run-store.ts";

// Fastify serialises answers with their schemas (fast-json-stringify): a property the schema lacks
// is dropped, an integer is truncated, a value no branch of a union matches is a 500. Each sample
// below has every field set, fractions where the daemon sends them; it must come back whole.

const at = new Date("2025-01-02T03:04:05.678Z");
const runRow: RunRow = {
  id: "11111111-1111-4111-8111-111111111111",
  template: "mission",
  template_version: 3,
  input: { request: "find docs", n: 2 },
  state: "running",
  priority: 150,
  escalated: true,
  idempotency_key: "k",
  schedule_id: "22222222-2222-4222-8222-222222222222",
  percent: 37.5,
  current_step: "draft",
  message: "drafting",
  snoozed_until: at,
  output: { a: [1, { b: null }] },
  error: { message: "x", failedSteps: ["a"] },
  created_at: at,
  updated_at: at,
  finished_at: at,
};

const runView: Static<typeof RunView> = {
  ...runSummary(runRow),
  elapsedMs: 12_345,
  eta: { remainingMs: 6_789, at: at.toISOString(), method: "history" },
  currentStep: { id: "draft", name: "Draft", message: "drafting" },
  steps: [
    {
      id: "verify",
      name: "Verify",
      executor: { kind: "builtin", name: "verify-input" },
      state: "completed",
      generation: 1,
      taskId: null,
      agentId: null,
      attempts: 1,
      progress: 100,
      message: null,
      inputOverride: null,
      output: { verified: true },
      error: null,
      skipReason: null,
      startedAt: at.toISOString(),
      finishedAt: at.toISOString(),
      durationMs: 12,
    },
    {
      id: "draft",
      name: "Draft",
      executor: { kind: "agent", capability: "writer.v2" },
      state: "running",
      generation: 0,
      taskId: "33333333-3333-4333-8333-333333333333",
      agentId: "44444444-4444-4444-8444-444444444444",
      attempts: 2,
      progress: 42.5,
      message: "half way",
      inputOverride: { tone: "dry", limits: { words: 300 } },
      output: null,
      error: { message: "first attempt lost" },
      skipReason: "n/a",
      startedAt: at.toISOString(),
      finishedAt: null,
      durationMs: null,
    },
  ],
  events: [{ id: 7, at: at.toISOString(), type: "step.started", stepId: "draft", data: { taskId: "t" } }],
};

const template: Static<typeof TemplateView> = {
  name: "story",
  version: 2,
  source: "file",
  createdAt: at.toISOString(),
  definition: {
    name: "story",
    description: "all fields",
    parameters: {
      words: { type: "number", required: true, default: 300, description: "d", minimum: 1, maximum: 900 },
    },
    steps: [
      {
        id: "a",
        name: "A",
        executor: { kind: "builtin", name: "budget-check" },
        dependsOn: [],
        band: [0, 40.5],
        weight: 1.5,
        timeoutMs: 1_000,
        retry: { maxAttempts: 3 },
        params: { x: [1, { y: 2 }] },
      },
      {
        id: "b",
        name: "B",
        executor: { kind: "agent", capability: "cap.x" },
        dependsOn: ["a"],
        band: [40.5, 100],
        condition: { step: "a", path: "ok", op: "in", value: [true, "yes"] },
      },
    ],
  },
};

const schedule: Static<typeof ScheduleWithTicks> = {
  ...scheduleView({
    id: "55555555-5555-4555-8555-555555555555",
    name: "nightly",
    template: "mission",
    input: { request: "r" },
    cron: "0 3 * * *",
    run_at: null,
    timezone: "Europe/Paris",
    state: "active",
    next_run_at: at,
    last_tick_at: at,
    created_at: at,
    updated_at: at,
  }),
  ticks: [
    { tickAt: at.toISOString(), runId: runRow.id, firedAt: at.toISOString() },
    { tickAt: at.toISOString(), runId: null, firedAt: at.toISOString() },
  ],
};

const conversation: Static<typeof ConversationWithMessages> = {
  id: "66666666-6666-4666-8666-666666666666",
  runId: runRow.id,
  stepId: "draft",
  title: "t",
  state: "completed",
  completesStep: true,
  summary: "s",
  createdAt: at.toISOString(),
  completedAt: at.toISOString(),
  messageCount: 1,
  messages: [
    { id: 9, role: "user", author: "operator", content: "hi", metadata: { k: [1] }, at: at.toISOString() },
  ],
};

const statistics: Static<typeof WorkflowStatistics> = {
  templates: [
    {
      template: "mission",
      total: 3,
      byState: { running: 0, paused: 0, snoozed: 0, completed: 2, failed: 1, cancelled: 0 },
      successRate: 2 / 3,
      avgDurationMs: 1_234,
      p95DurationMs: null,
    },
  ],
};

const samples: Array<[string, TSchema, unknown]> = [
  ["run view", RunView, runView],
  [
    "run list",
    PIPELINE_ROUTES.listRuns.replies[200],
    { total: 1, limit: 50, offset: 0, runs: [runSummary(runRow)] },
  ],
  ["template", TemplateView, template],
  ["schedule with ticks", ScheduleWithTicks, schedule],
  ["schedule list", SCHEDULE_ROUTES.list.replies[200], { schedules: [scheduleView(onceScheduleRow())] }],
  ["conversation", ConversationWithMessages, conversation],
  ["workflow statistics", WorkflowStatistics, statistics],
  [
    "workflow details",
    WORKFLOW_ROUTES.details.replies[200],
    {
      run: runView,
      artifacts: [
        { id: runRow.id, stepId: null, type: "text/markdown", title: "n", createdAt: at.toISOString() },
      ],
      conversations: [{ id: conversation.id, stepId: "draft", title: "t", state: "open" }],
      audit: [{ at: at.toISOString(), actor: "operator", action: "run.pause", reason: null, data: { a: 1 } }],
    },
  ],
];

/** A one-off schedule row (cron null, runAt set). */
function onceScheduleRow() {
  return {
    id: "77777777-7777-4777-8777-777777777777",
    name: "once",
    template: "mission",
    input: {},
    cron: null,
    run_at: at,
    timezone: "UTC",
    state: "done" as const,
    next_run_at: null,
    last_tick_at: at,
    created_at: at,
    updated_at: at,
  };
}

const app = Fastify();
beforeAll(async () => {
  samples.forEach(([, schema, value], i) => {
    app.get(`/s/${i}`, { schema: { response: { 200: schema } } }, async () => value);
  });
  // A template file may carry keys the API's schema does not know: they are left out, never a 500.
  app.get("/extra", { schema: { response: { 200: TemplateView } } }, async () => ({
    ...template,
    definition: {
      ...template.definition,
      $comment: "file note",
      steps: template.definition.steps.map((s) => ({ ...s, executor: { ...s.executor, note: "x" } })),
    },
  }));
  await app.ready();
});
afterAll(() => app.close());

describe("pipeline answers survive serialisation whole", () => {
  samples.forEach(([name, , value], i) => {
    it(name, async () => {
      const r = await app.inject({ method: "GET", url: `/s/${i}` });
      expect(r.statusCode).toBe(200);
      expect(r.json()).toEqual(JSON.parse(JSON.stringify(value)));
    });
  });

  it("a stored template's unknown keys are dropped, not a 500", async () => {
    const r = await app.inject({ method: "GET", url: "/extra" });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual(JSON.parse(JSON.stringify(template)));
  });
});
