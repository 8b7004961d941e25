import type pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { call } from "../helpers/api-client.ts";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { TOKENS } from "../helpers/test-env.ts";
import { runUntil, startPipelineAgents, stopAgents } from "./helpers.ts";

/**
 * Bad input on the pipeline, artifact, conversation and workflow routes: a clear 4xx with the right
 * code, never a 5xx, and nothing written (every table is counted before and after).
 */
let d: TestDaemon;
let db: pg.Client;
let finished: string;
let conversation: string;
const UNKNOWN = "00000000-0000-4000-8000-000000000000";
const TABLES = [
  "pipeline_templates",
  "pipeline_runs",
  "pipeline_steps",
  "pipeline_events",
  "audit_log",
  "artifacts",
  "conversations",
  "conversation_messages",
  "tasks",
];

async function counts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of TABLES) out[t] = Number((await db.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
  return out;
}

beforeAll(async () => {
  d = await startTestDaemon();
  db = await namespaceDb(d.namespace);
  const agents = await startPipelineAgents(d);
  finished = (await d.api("POST", "/api/pipelines/mission/runs", { body: { input: { request: "x" } } })).body
    .id;
  await runUntil(d, finished, (r) => r.state === "completed", "the setup run to complete");
  await stopAgents(agents);
  const conv = await d.api("POST", `/api/pipelines/runs/${finished}/conversations`, {
    body: { stepId: "intent", title: "closed" },
  });
  conversation = conv.body.id;
  await d.api("POST", `/api/conversations/${conversation}/complete`, { body: {} });
});
afterAll(async () => {
  await db?.end();
  await d?.close();
});

const cyclic = {
  name: "cyclic",
  steps: [
    { id: "a", name: "A", executor: { kind: "agent", capability: "x" }, dependsOn: ["b"] },
    { id: "b", name: "B", executor: { kind: "agent", capability: "x" }, dependsOn: ["a"] },
  ],
};

it("every bad call is a 4xx with the expected code, and nothing is written", async () => {
  const before = await counts();
  const op = TOKENS.operator;
  const cases: Array<[string, string, unknown, number, string, string?]> = [
    // [method, path, body, status, code, token]
    ["POST", "/api/pipelines/nope/runs", { input: {} }, 404, "OVS_ERR_TEMPLATE_NOT_FOUND"],
    ["POST", "/api/pipelines/Bad Name/runs", { input: {} }, 400, "OVS_ERR_VALIDATION"],
    ["POST", "/api/pipelines/mission/runs", { input: { budgetUsd: 1 } }, 400, "OVS_ERR_VALIDATION"],
    ["POST", "/api/pipelines/mission/runs", { input: { request: 5 } }, 400, "OVS_ERR_VALIDATION"],
    [
      "POST",
      "/api/pipelines/mission/runs",
      { input: { request: "x", budgetUsd: -1 } },
      400,
      "OVS_ERR_VALIDATION",
    ],
    [
      "PUT",
      "/api/pipelines/templates/bounds",
      {
        name: "bounds",
        parameters: { n: { type: "string", minimum: 1 } },
        steps: [{ id: "a", name: "A", executor: { kind: "builtin", name: "finalize" } }],
      },
      400,
      "OVS_ERR_TEMPLATE_INVALID",
    ],
    ["POST", "/api/pipelines/mission/runs", { input: [] }, 400, "OVS_ERR_VALIDATION"],
    [
      "POST",
      "/api/pipelines/mission/runs",
      { input: { request: "x" }, priority: 5000 },
      400,
      "OVS_ERR_VALIDATION",
    ],
    ["POST", "/api/pipelines/mission/runs", { input: { request: "x" }, extra: 1 }, 400, "OVS_ERR_VALIDATION"],
    [
      "POST",
      "/api/pipelines/mission/runs",
      { input: { request: "x" } },
      403,
      "OVS_ERR_FORBIDDEN",
      TOKENS.viewer,
    ],
    [
      "POST",
      "/api/pipelines/mission/runs",
      { input: { request: "x" } },
      401,
      "OVS_ERR_UNAUTHENTICATED",
      "nope",
    ],
    ["PUT", "/api/pipelines/templates/cyclic", cyclic, 400, "OVS_ERR_TEMPLATE_INVALID"],
    ["PUT", "/api/pipelines/templates/other", cyclic, 400, "OVS_ERR_VALIDATION"],
    [
      "PUT",
      "/api/pipelines/templates/mission",
      { name: "mission", steps: [{ id: "a", name: "A", executor: { kind: "builtin", name: "finalize" } }] },
      409,
      "OVS_ERR_TEMPLATE_BUILTIN",
    ],
    ["PUT", "/api/pipelines/templates/t1", { name: "t1", steps: [] }, 400, "OVS_ERR_VALIDATION"],
    [
      "PUT",
      "/api/pipelines/templates/t1",
      { name: "t1", steps: [{ id: "a", name: "A", executor: { kind: "builtin", name: "rm-rf" } }] },
      400,
      "OVS_ERR_VALIDATION",
    ],
    [
      "PUT",
      "/api/pipelines/templates/t1",
      {
        name: "t1",
        steps: [{ id: "a", name: "A", executor: { kind: "agent", capability: "x" }, dependsOn: ["zz"] }],
      },
      400,
      "OVS_ERR_TEMPLATE_INVALID",
    ],
    [
      "PUT",
      "/api/pipelines/templates/t1",
      {
        name: "t1",
        steps: [{ id: "a", name: "A", executor: { kind: "agent", capability: "x" }, band: [50, 10] }],
      },
      400,
      "OVS_ERR_TEMPLATE_INVALID",
    ],
    ["GET", "/api/pipelines/templates/nope", undefined, 404, "OVS_ERR_TEMPLATE_NOT_FOUND"],
    ["GET", "/api/pipelines/templates/mission?version=99", undefined, 404, "OVS_ERR_TEMPLATE_NOT_FOUND"],
    ["GET", "/api/pipelines/templates/mission?version=-1", undefined, 400, "OVS_ERR_VALIDATION"],
    ["GET", `/api/pipelines/runs/${UNKNOWN}`, undefined, 404, "OVS_ERR_RUN_NOT_FOUND"],
    ["GET", "/api/pipelines/runs/not-a-uuid", undefined, 400, "OVS_ERR_VALIDATION"],
    ["GET", "/api/pipelines/runs?state=exploded", undefined, 400, "OVS_ERR_VALIDATION"],
    ["GET", "/api/pipelines/runs?from=yesterday", undefined, 400, "OVS_ERR_VALIDATION"],
    ["GET", "/api/pipelines/runs?limit=0", undefined, 400, "OVS_ERR_VALIDATION"],
    ["POST", `/api/pipelines/runs/${UNKNOWN}/pause`, {}, 404, "OVS_ERR_RUN_NOT_FOUND"],
    ["POST", `/api/pipelines/runs/${finished}/pause`, {}, 409, "OVS_ERR_RUN_STATE_CONFLICT"],
    ["POST", `/api/pipelines/runs/${finished}/resume`, {}, 409, "OVS_ERR_RUN_STATE_CONFLICT"],
    ["POST", `/api/pipelines/runs/${finished}/cancel`, {}, 409, "OVS_ERR_RUN_STATE_CONFLICT"],
    ["POST", `/api/pipelines/runs/${finished}/escalate`, {}, 409, "OVS_ERR_RUN_STATE_CONFLICT"],
    [
      "POST",
      `/api/pipelines/runs/${finished}/snooze`,
      { until: "2999-01-01T00:00:00Z" },
      409,
      "OVS_ERR_RUN_STATE_CONFLICT",
    ],
    ["POST", `/api/pipelines/runs/${finished}/snooze`, { until: "soon" }, 400, "OVS_ERR_VALIDATION"],
    ["POST", `/api/pipelines/runs/${finished}/steps/intent/retry`, {}, 409, "OVS_ERR_RUN_STATE_CONFLICT"],
    [
      "POST",
      `/api/pipelines/runs/${finished}/steps/intent/skip`,
      { reason: "r" },
      409,
      "OVS_ERR_RUN_STATE_CONFLICT",
    ],
    ["POST", `/api/pipelines/runs/${finished}/steps/intent/skip`, {}, 400, "OVS_ERR_VALIDATION"],
    [
      "POST",
      `/api/pipelines/runs/${finished}/steps/intent/input`,
      { params: { a: 1 } },
      409,
      "OVS_ERR_RUN_STATE_CONFLICT",
    ],
    [
      "POST",
      `/api/pipelines/runs/${finished}/steps/intent/input`,
      { params: "x" },
      400,
      "OVS_ERR_VALIDATION",
    ],
    ["POST", `/api/pipelines/runs/${finished}/steps/BAD/retry`, {}, 400, "OVS_ERR_VALIDATION"],
    ["POST", `/api/pipelines/runs/${finished}/pause`, {}, 403, "OVS_ERR_FORBIDDEN", TOKENS.viewer],
    [
      "POST",
      `/api/pipelines/runs/${UNKNOWN}/artifacts`,
      { type: "t", title: "x", content: "" },
      404,
      "OVS_ERR_RUN_NOT_FOUND",
    ],
    [
      "POST",
      `/api/pipelines/runs/${finished}/artifacts`,
      { type: "t", title: "x", content: "", stepId: "zz" },
      404,
      "OVS_ERR_STEP_NOT_FOUND",
    ],
    [
      "POST",
      `/api/pipelines/runs/${finished}/artifacts`,
      { type: "t", content: "" },
      400,
      "OVS_ERR_VALIDATION",
    ],
    [
      "POST",
      `/api/pipelines/runs/${finished}/artifacts`,
      { type: "t", title: "x", content: 7 },
      400,
      "OVS_ERR_VALIDATION",
    ],
    [
      "POST",
      `/api/pipelines/runs/${finished}/artifacts`,
      { type: "t", title: "x", content: "" },
      403,
      "OVS_ERR_FORBIDDEN",
      TOKENS.viewer,
    ],
    ["GET", `/api/artifacts/${UNKNOWN}`, undefined, 404, "OVS_ERR_ARTIFACT_NOT_FOUND"],
    ["POST", `/api/pipelines/runs/${finished}/conversations`, { title: "x" }, 400, "OVS_ERR_VALIDATION"],
    [
      "POST",
      `/api/pipelines/runs/${finished}/conversations`,
      { stepId: "zz", title: "x" },
      404,
      "OVS_ERR_STEP_NOT_FOUND",
    ],
    [
      "POST",
      `/api/conversations/${UNKNOWN}/messages`,
      { role: "user", content: "x" },
      404,
      "OVS_ERR_CONVERSATION_NOT_FOUND",
    ],
    [
      "POST",
      `/api/conversations/${conversation}/messages`,
      { role: "user", content: "x" },
      409,
      "OVS_ERR_CONVERSATION_CLOSED",
    ],
    [
      "POST",
      `/api/conversations/${conversation}/messages`,
      { role: "User!", content: "x" },
      400,
      "OVS_ERR_VALIDATION",
    ],
    ["POST", `/api/conversations/${conversation}/complete`, {}, 409, "OVS_ERR_CONVERSATION_CLOSED"],
    ["GET", `/api/conversations/${UNKNOWN}`, undefined, 404, "OVS_ERR_CONVERSATION_NOT_FOUND"],
    ["GET", "/api/workflow/history?limit=-3", undefined, 400, "OVS_ERR_VALIDATION"],
    ["GET", "/api/workflow/statistics?from=nope", undefined, 400, "OVS_ERR_VALIDATION"],
    ["GET", `/api/workflow/${UNKNOWN}/details`, undefined, 404, "OVS_ERR_RUN_NOT_FOUND"],
    ["GET", "/api/workflow/pending", undefined, 401, "OVS_ERR_UNAUTHENTICATED", ""],
  ];
  const failures: string[] = [];
  for (const [method, path, body, status, code, token] of cases) {
    const r = await call(d.url, method, path, { token: token === undefined ? op : token || undefined, body });
    if (r.status !== status || r.body?.error?.code !== code) {
      failures.push(`${method} ${path} ${JSON.stringify(body)} → ${r.status} ${r.text.slice(0, 200)}`);
    }
  }
  expect(failures).toEqual([]);
  expect(await counts()).toEqual(before);
});
