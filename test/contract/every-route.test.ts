import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import type { TSchema } from "typebox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closed } from "../../api/response-check.ts";
import { ErrorBody } from "../../contract/errors.ts";
import type { RouteContract } from "../../contract/route.ts";
import { ROUTE_CONTRACTS } from "../../contract/routes/index.ts";
import { ExportRecord } from "../../contract/schemas/export.ts";
import { eventually, startTestDaemon, type TestAgent, type TestDaemon } from "../helpers/daemon-harness.ts";
import { TOKENS } from "../helpers/test-env.ts";

/**
 * Drives every route of the contract once against a live daemon: one driver per operationId, each
 * making one call that must succeed with a status its route declares (the override and the reset
 * drivers first make the dry run that gives them their confirmation token). Every answer this file
 * gets, seeding included, is checked here with an Ajv of its own against the contract's schema for
 * its status, closed by api/response-check.ts's `closed`: independently of the daemon's own check
 * (OVERSEER_VALIDATE_RESPONSES, on in tests), which would turn a stray answer into a 500.
 */

// ---- fixtures -------------------------------------------------------------------------------

/** A managed process that only waits, in a file in `dir`: the managed-agents read lists it (running, with its pid). */
function managedAgentsFile(dir: string): string {
  const file = join(dir, "agents.json");
  const idle = {
    name: "contract-idle",
    command: process.execPath,
    args: ["-e", "setTimeout(() => {}, 600000)"],
  };
  writeFileSync(file, JSON.stringify({ agents: [{ ...idle, restart: "temporary", stopGraceMs: 1_000 }] }));
  return file;
}

const CANARY_ROLE = "contract-canary";

const DAEMON_ENV = {
  // Driving every lever once must not be refused with 429.
  OVERSEER_CONTROL_RATE_BURST: "1000",
  OVERSEER_CONTROL_RATE_PER_MINUTE: "10000",
  // The canary (off in tests by default) runs once through the canary agent, for the health read;
  // later canaries wait unclaimed well past the test's end.
  OVERSEER_CANARY_ENABLED: "true",
  OVERSEER_CANARY_INTERVAL_MS: "200",
  OVERSEER_CANARY_TIMEOUT_MS: "10m",
  // Calls of this model cost 1 USD per 1000 tokens, so one seeded call is over the global budget.
  OVERSEER_LLM_PRICING: JSON.stringify({ "contract-priced": { inputPerMTok: 1000, outputPerMTok: 1000 } }),
  // The one-off schedule fires soon after its time.
  OVERSEER_SCHEDULE_INTERVAL_MS: "100",
  // Calm liveness: the test's agents must stay active under a busy suite on 2 cores.
  OVERSEER_HEARTBEAT_INTERVAL_MS: "1000",
  OVERSEER_AGENT_STALE_AFTER_MS: "5000",
  OVERSEER_AGENT_DEAD_AFTER_MS: "10000",
};

/** A template with parameters, weights, a condition, step params and a built-in step. */
const FLOW_TEMPLATE = {
  name: "contract-flow",
  description: "two agent steps and a finalize (nobody takes contract.step: runs stay running)",
  parameters: {
    topic: { type: "string", required: true, description: "what to work on" },
    depth: { type: "number", default: 1, minimum: 0, maximum: 5 },
  },
  steps: [
    {
      id: "first",
      name: "First",
      executor: { kind: "agent", capability: "contract.step" },
      weight: 1,
      timeoutMs: 600_000,
      retry: { maxAttempts: 2 },
      params: { mode: "draft" },
    },
    {
      id: "second",
      name: "Second",
      executor: { kind: "agent", capability: "contract.step" },
      dependsOn: ["first"],
      weight: 2,
      condition: { step: "first", path: "ok", op: "exists" },
    },
    {
      id: "wrap",
      name: "Wrap up",
      executor: { kind: "builtin", name: "finalize" },
      dependsOn: ["second"],
    },
  ],
};
/** One agent step, failed for good by the doomed agent: its step is retried by the operator. */
const FAILS_TEMPLATE = {
  name: "contract-fails",
  steps: [
    {
      id: "only",
      name: "Only",
      executor: { kind: "agent", capability: "contract.doomed" },
      retry: { maxAttempts: 1 },
    },
  ],
};
/** A budget gate: over the global hard limit (onHard approval) it waits for an operator. */
const GATE_TEMPLATE = {
  name: "contract-gate",
  steps: [{ id: "budget", name: "Budget", executor: { kind: "builtin", name: "budget-check" } }],
};
/** Saved by its driver: a template the daemon does not have yet (201). */
const EXTRA_TEMPLATE = {
  name: "contract-extra",
  steps: [{ id: "check", name: "Check", executor: { kind: "builtin", name: "verify-input" } }],
};

/** One LLM call record; 1000 input tokens of contract-priced cost 1 USD. */
function llmCall(overrides: Record<string, unknown> = {}) {
  return {
    clientCallId: randomUUID(),
    provider: "openai",
    model: "contract-priced",
    source: "openai",
    usage: { inputTokens: 1000, outputTokens: 0, counted: false },
    latencyMs: 420,
    timeToFirstTokenMs: 80,
    status: "ok",
    prompt: [{ role: "user", content: "summarise the contract" }],
    response: "it is kept",
    ...overrides,
  };
}

const REASON = "contract test";

// ---- calling a route by its contract, and checking the answer against it ------------------------

const ROUTES = new Map(ROUTE_CONTRACTS.map((r) => [r.operationId, r]));

function contractOf(operationId: string): RouteContract {
  const route = ROUTES.get(operationId);
  if (!route) throw new Error(`no route has operationId ${operationId}`);
  return route;
}

/** A JSON body as read by the drivers; its shape is checked against the contract, not by the compiler. */
// biome-ignore lint/suspicious/noExplicitAny: answers are read loosely here and checked with Ajv
type Json = any;

interface Answer {
  operationId: string;
  route: RouteContract;
  status: number;
  contentType: string;
  text: string;
  body: Json;
}

interface SendOptions {
  /** Defaults to the least privileged token the route's auth admits; agent routes must name one. */
  token?: string | null;
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
}

function defaultToken(route: RouteContract): string | null {
  switch (route.auth) {
    case "public":
      return null;
    case "viewer":
      return TOKENS.viewer;
    case "operator":
    case "agent-or-operator":
      return TOKENS.operator;
    case "admin":
      return TOKENS.admin;
    case "register":
      return TOKENS.agentSecret;
    case "agent":
      throw new Error(`${route.operationId} is an agent route: pass the agent's token`);
  }
}

let d: TestDaemon;

async function send(operationId: string, opts: SendOptions = {}): Promise<Answer> {
  const route = contractOf(operationId);
  const path = route.url.replace(/:([A-Za-z]+)/g, (_, name: string) => {
    const value = opts.params?.[name];
    if (value === undefined) throw new Error(`${operationId}: no value for :${name}`);
    return encodeURIComponent(value);
  });
  const query = opts.query ? `?${new URLSearchParams(opts.query)}` : "";
  const token = opts.token === undefined ? defaultToken(route) : opts.token;
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  let payload: string | undefined;
  if (opts.body !== undefined) {
    payload = JSON.stringify(opts.body);
    headers["content-type"] = "application/json";
  }
  const response = await fetch(`${d.url}${path}${query}`, { method: route.method, headers, body: payload });
  const text = await response.text();
  const contentType = response.headers.get("content-type") ?? "";
  const body = contentType.startsWith("application/json") && text ? JSON.parse(text) : text || null;
  return { operationId, route, status: response.status, contentType, text, body };
}

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats.default(ajv);
const validators = new Map<TSchema, ValidateFunction>();
function validatorOf(schema: TSchema): ValidateFunction {
  let check = validators.get(schema);
  if (!check) {
    check = ajv.compile(closed(schema) as object);
    validators.set(schema, check);
  }
  return check;
}

/** `type/subtype; param=value...` compared without case or spacing. */
const mediaType = (value: string) => value.toLowerCase().replace(/\s+/g, "");

/** Why `a` does not match its contract (status, content type, schema), or null when it does. */
function mismatch(a: Answer): string | null {
  const own = a.route.replies[a.status];
  if (own && a.route.produces) {
    return mediaType(a.contentType) === mediaType(a.route.produces)
      ? null
      : `content type "${a.contentType}", the contract produces "${a.route.produces}"`;
  }
  if (a.status === 204) return a.text === "" ? null : "a 204 with a body";
  const schema = own ?? (a.status >= 400 ? ErrorBody : undefined);
  if (!schema) return `status ${a.status} is not declared`;
  if (!a.contentType.startsWith("application/json")) return `content type "${a.contentType}", not JSON`;
  const check = validatorOf(schema);
  return check(a.body) ? null : ajv.errorsText(check.errors);
}

/** The answer has a success status its route declares, and matches the contract for it. */
function expectSuccess(a: Answer): void {
  const where = `${a.operationId} (${a.route.method} ${a.route.url}) answered ${a.status}`;
  const successes = Object.keys(a.route.replies)
    .map(Number)
    .filter((s) => s < 300);
  expect(successes, `${where}: ${a.text.slice(0, 1000)}`).toContain(a.status);
  expect(mismatch(a), `${where}: the answer does not match the contract`).toBeNull();
}

/** Seeding: a call that must succeed; answers its body. */
async function ok(operationId: string, opts: SendOptions = {}): Promise<Json> {
  const a = await send(operationId, opts);
  expectSuccess(a);
  return a.body;
}

// ---- seeded state -----------------------------------------------------------------------------

const WAIT_MS = 20_000;

/**
 * Agents (kept alive by the harness's heartbeats): the worker holds leases, the receiver takes a
 * reassigned task, the restartee is restarted, the doomed one fails a pipeline step, and the canary
 * agent answers the first canary.
 */
let worker: TestAgent;
let receiver: TestAgent;
let restartee: TestAgent;
let doomed: TestAgent;
let canary: TestAgent;

const s = {
  /** Tasks the worker holds a lease of: taskId → leaseToken. */
  leases: new Map<string, string>(),
  workTask: "", // progress, then complete
  failTask: "", // failed by its driver (one attempt: dead), then retried
  releaseTask: "",
  failedTask: "", // failed for good while seeding, retried with a priority boost
  claimTask: "", // queued for the claim driver
  runA: "", // contract-flow, running: reads, pause/resume/escalate, input, artifacts, conversations
  runB: "", // contract-flow, started by executePipeline: its pending step skipped, then cancelled
  runC: "", // contract-flow, running: snooze
  runF: "", // contract-fails, failed: step retry
  gateApprove: "",
  gateReject: "",
  onceSchedule: "", // a one-off schedule that has fired
  // Set by drivers for later drivers.
  leaver: { id: "", token: "" },
  submitted: "",
  budget: "",
  artifact: "",
  conversation: "",
  schedule: "",
  override: "",
};

/** Claims as `agent` until it holds every task `wanted` accepts (`count` of them); answers their leases. */
async function claimUntil(
  agent: TestAgent,
  count: number,
  wanted: (task: { id: string; type: string; payload: Json }) => boolean,
): Promise<Map<string, string>> {
  const leases = new Map<string, string>();
  await eventually(
    async () => {
      const got = await ok("claimTasks", {
        token: agent.token,
        params: { id: agent.id },
        body: { max: count - leases.size, waitMs: 1_000 },
      });
      for (const t of got.tasks) {
        expect(wanted(t), `${agent.id} claimed an unexpected task ${JSON.stringify(t)}`).toBe(true);
        leases.set(t.id, t.leaseToken);
      }
      return leases.size >= count;
    },
    WAIT_MS,
    `agent ${agent.id} to claim ${count} tasks`,
  );
  return leases;
}

async function submit(body: Record<string, unknown>): Promise<string> {
  return (await ok("submitTask", { body })).id;
}

async function execute(template: string, input: Record<string, unknown>): Promise<string> {
  return (await ok("executePipeline", { params: { template }, body: { input } })).id;
}

async function runUntil(id: string, predicate: (run: Json) => boolean, what: string): Promise<Json> {
  return eventually(
    async () => {
      const run = await ok("getPipelineRun", { params: { id } });
      return predicate(run) ? run : null;
    },
    WAIT_MS,
    what,
  );
}

const stepOf = (run: Json, id: string) => run.steps.find((step: { id: string }) => step.id === id);

let tempDir: string;

beforeAll(async () => {
  tempDir = mkdtempSync(join(tmpdir(), "ovs-contract-"));
  d = await startTestDaemon({ ...DAEMON_ENV, OVERSEER_MANAGED_AGENTS_FILE: managedAgentsFile(tempDir) });
  await eventually(
    async () => {
      const ready = await send("getReadyz");
      expect(mismatch(ready), "a /readyz answer does not match the contract").toBeNull();
      return ready.status === 200;
    },
    WAIT_MS,
    "the daemon to be ready (leader)",
  );
  [worker, receiver, restartee, doomed, canary] = await Promise.all([
    d.registerAgent("contract-worker", ["contract.work"], { role: "contract-worker", concurrency: 10 }),
    d.registerAgent("contract-receiver", ["contract.reassign"], { role: "contract-receiver" }),
    d.registerAgent("contract-restartee", ["contract.idle"], { role: "contract-idle" }),
    d.registerAgent("contract-doomed", ["contract.doomed"], { role: "contract-doomed" }),
    d.registerAgent("contract-canary", [`overseer.canary.${CANARY_ROLE}`], { role: CANARY_ROLE }),
  ]);
  for (const t of [FLOW_TEMPLATE, FAILS_TEMPLATE, GATE_TEMPLATE]) {
    await ok("savePipelineTemplate", { params: { template: t.name }, body: t });
  }
  // A one-off schedule due in 2 s, so a schedule has a tick and the run it started (checked last).
  const once = await ok("createSchedule", {
    body: {
      name: "contract-once",
      template: FLOW_TEMPLATE.name,
      input: { topic: "scheduled" },
      runAt: new Date(Date.now() + 2_000).toISOString(),
    },
  });
  s.onceSchedule = once.id;

  // The canary agent answers the first canary.
  const [canaryLease] = await claimUntil(canary, 1, (t) => t.type === `overseer.canary.${CANARY_ROLE}`);
  await ok("completeTask", {
    token: canary.token,
    params: { id: canaryLease![0] },
    body: { leaseToken: canaryLease![1], result: { ok: true } },
  });

  // Spend over a global daily hard limit that asks for approval: gate runs wait at their budget step.
  await ok("recordLlmCalls", { body: { agentId: worker.id, calls: [llmCall()] } });
  await ok("createBudget", {
    body: { scope: "global", period: "day", hardLimitUsd: 0.5, onHard: "approval", description: REASON },
  });

  // The worker's leases: one to report progress on and complete, one to fail, one to release, and
  // one failed for good now (retried later with a priority boost).
  const work = { type: "contract.work", timeoutMs: 600_000 };
  s.workTask = await submit({ ...work, payload: { n: 1 }, idempotencyKey: "contract-work-1" });
  s.failTask = await submit({ ...work, payload: { n: 2 }, maxAttempts: 1 });
  s.releaseTask = await submit({ ...work, payload: { n: 3 } });
  s.failedTask = await submit({ ...work, payload: { n: 4 }, priority: 10 });
  const mine = new Set([s.workTask, s.failTask, s.releaseTask, s.failedTask]);
  s.leases = await claimUntil(worker, mine.size, (t) => mine.has(t.id));
  await ok("failTask", {
    token: worker.token,
    params: { id: s.failedTask },
    body: {
      leaseToken: s.leases.get(s.failedTask),
      error: { message: "bad input", category: "validation", retryable: false },
    },
  });
  s.claimTask = await submit({ ...work, payload: { n: 5 } });

  // Runs: two left running, one failed for good, two waiting for a budget decision.
  s.runA = await execute("contract-flow", { topic: "reads and actions" });
  s.runC = await execute("contract-flow", { topic: "snooze", depth: 2 });
  s.runF = await execute("contract-fails", {});
  s.gateApprove = await execute("contract-gate", {});
  s.gateReject = await execute("contract-gate", {});
  const [doomedLease] = await claimUntil(doomed, 1, (t) => t.payload?.pipeline?.runId === s.runF);
  const [doomedTask, doomedToken] = doomedLease!;
  await ok("failTask", {
    token: doomed.token,
    params: { id: doomedTask },
    body: { leaseToken: doomedToken, error: { message: "cannot be done", retryable: false } },
  });
  await runUntil(s.runF, (r) => r.state === "failed", "the failing run to fail");
  await eventually(
    async () => (await ok("listBudgetApprovals")).pending.length === 2,
    WAIT_MS,
    "both gate runs to wait for a budget decision",
  );
  await runUntil(
    s.runA,
    (r) => stepOf(r, "first")?.state === "running" && stepOf(r, "second")?.state === "pending",
    "run A's first step to start",
  );

  await eventually(
    async () => {
      const health = await ok("getSystemHealth");
      return health.components.canary.detail?.roles?.some((r: { role: string }) => r.role === CANARY_ROLE);
    },
    WAIT_MS,
    "the canary's result in the health read",
  );
  await eventually(
    async () => {
      const got = await ok("getSchedule", { params: { id: s.onceSchedule } });
      return got.ticks.some((t: { runId: string | null }) => t.runId);
    },
    WAIT_MS,
    "the one-off schedule to fire",
  );
}, 120_000);

afterAll(async () => {
  await d?.close();
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
});

// ---- one driver per route, in the order they run ---------------------------------------------

const lease = (id: string) => s.leases.get(id) ?? "0";

const drivers: Record<string, () => Promise<Answer>> = {
  // Health: public, no token.
  getHealthz: () => send("getHealthz"),
  getReadyz: () => send("getReadyz"),
  getMetrics: async () => {
    const a = await send("getMetrics");
    expect(a.text).toMatch(/^# HELP overseer_/m);
    return a;
  },

  // The agent protocol. The registered agent is only for these three: it leaves at once.
  registerAgent: async () => {
    const a = await send("registerAgent", {
      body: { name: "contract-leaver", role: "contract-leaver", capabilities: ["contract.none"] },
    });
    s.leaver = { id: a.body?.id, token: a.body?.token };
    return a;
  },
  heartbeatAgent: () =>
    send("heartbeatAgent", {
      token: s.leaver.token,
      params: { id: s.leaver.id },
      body: { status: "active", activeTaskIds: [], load: 0 },
    }),
  deregisterAgent: () => send("deregisterAgent", { token: s.leaver.token, params: { id: s.leaver.id } }),
  claimTasks: async () => {
    const a = await send("claimTasks", {
      token: worker.token,
      params: { id: worker.id },
      body: { max: 1, waitMs: 5_000 },
    });
    expect(a.body?.tasks?.map((t: { id: string }) => t.id)).toEqual([s.claimTask]);
    return a;
  },

  // Tasks: submit and read (operator/viewer), and the lease holder's reports.
  submitTask: async () => {
    const a = await send("submitTask", {
      body: { type: "contract.reassign", payload: { for: "reassign" }, priority: 5 },
    });
    s.submitted = a.body?.id;
    return a;
  },
  reportTaskProgress: () =>
    send("reportTaskProgress", {
      token: worker.token,
      params: { id: s.workTask },
      body: { leaseToken: lease(s.workTask), percent: 50, message: "half way" },
    }),
  completeTask: () =>
    send("completeTask", {
      token: worker.token,
      params: { id: s.workTask },
      body: { leaseToken: lease(s.workTask), result: { done: true } },
    }),
  failTask: () =>
    send("failTask", {
      token: worker.token,
      params: { id: s.failTask },
      body: {
        leaseToken: lease(s.failTask),
        error: { message: "upstream timed out", category: "upstream", retryable: true },
      },
    }),
  getTask: () => send("getTask", { params: { id: s.failTask } }),
  releaseTask: () =>
    send("releaseTask", {
      token: worker.token,
      params: { id: s.releaseTask },
      body: { leaseToken: lease(s.releaseTask) },
    }),
  retryTask: () => send("retryTask", { params: { id: s.failTask } }),
  submitTasks: () =>
    send("submitTasks", {
      body: {
        tasks: [
          { type: "contract.unclaimed", payload: { batch: 1 } },
          { type: "contract.unclaimed", payload: { batch: 2 }, idempotencyKey: "contract-batch" },
        ],
      },
    }),
  listTasks: () => send("listTasks", { query: { limit: "5" } }),
  cancelTask: async () => {
    const { id } = await ok("submitTask", { body: { type: "contract.unclaimed", payload: {} } });
    return send("cancelTask", { params: { id }, body: { reason: REASON } });
  },
  setTaskPriority: async () => {
    const { id } = await ok("submitTask", { body: { type: "contract.unclaimed", payload: {} } });
    return send("setTaskPriority", { params: { id }, body: { priority: 7, reason: REASON } });
  },
  listRunLlmCalls: () => send("listRunLlmCalls", { params: { id: s.runA }, query: { limit: "5" } }),

  // LLM calls, costs and budgets.
  recordLlmCalls: () =>
    send("recordLlmCalls", {
      token: worker.token,
      body: {
        calls: [
          llmCall({ model: "contract-cheap", usage: { inputTokens: 10, outputTokens: 5, counted: true } }),
        ],
      },
    }),
  getLlmCosts: () => send("getLlmCosts"),
  getLlmCostsByPhase: () => send("getLlmCostsByPhase"),
  getLlmCostsByModel: () => send("getLlmCostsByModel"),
  getLlmCostHistory: () => send("getLlmCostHistory", { query: { bucket: "hour" } }),
  getLlmUsage: () => send("getLlmUsage"),
  getKpis: () => send("getKpis", { query: { range: "7days" } }),
  createBudget: async () => {
    const a = await send("createBudget", {
      body: {
        scope: "role",
        target: "contract-worker",
        period: "month",
        softLimitUsd: 50,
        hardLimitUsd: 100,
        onHard: "block",
        description: REASON,
      },
    });
    s.budget = a.body?.id;
    return a;
  },
  getBudget: () => send("getBudget", { params: { id: s.budget } }),
  updateBudget: () => send("updateBudget", { params: { id: s.budget }, body: { hardLimitUsd: 200 } }),
  listBudgets: () => send("listBudgets"),
  getBudgetStatus: () => send("getBudgetStatus"),
  listBudgetApprovals: async () => {
    const a = await send("listBudgetApprovals");
    expect(a.body?.pending).toHaveLength(2);
    return a;
  },

  // Pipeline templates and runs, then the operator's actions on them.
  listPipelineTemplates: () => send("listPipelineTemplates"),
  getPipelineTemplate: () => send("getPipelineTemplate", { params: { template: FLOW_TEMPLATE.name } }),
  savePipelineTemplate: () =>
    send("savePipelineTemplate", { params: { template: EXTRA_TEMPLATE.name }, body: EXTRA_TEMPLATE }),
  executePipeline: async () => {
    const a = await send("executePipeline", {
      params: { template: FLOW_TEMPLATE.name },
      body: { input: { topic: "skip and cancel" }, priority: 3, idempotencyKey: "contract-run-b" },
    });
    s.runB = a.body?.id;
    return a;
  },
  listPipelineRuns: () => send("listPipelineRuns", { query: { template: FLOW_TEMPLATE.name, limit: "10" } }),
  getPipelineRun: () => send("getPipelineRun", { params: { id: s.runA } }),
  modifyPipelineStepInput: () =>
    send("modifyPipelineStepInput", {
      params: { id: s.runA, stepId: "second" },
      body: { params: { mode: "final" } },
    }),
  pausePipelineRun: () => send("pausePipelineRun", { params: { id: s.runA }, body: { reason: REASON } }),
  resumePipelineRun: () => send("resumePipelineRun", { params: { id: s.runA }, body: { reason: REASON } }),
  escalatePipelineRun: () =>
    send("escalatePipelineRun", { params: { id: s.runA }, body: { priority: 500, reason: REASON } }),
  snoozePipelineRun: () =>
    send("snoozePipelineRun", {
      params: { id: s.runC },
      body: { until: new Date(Date.now() + 3_600_000).toISOString() },
    }),
  skipPipelineStep: () =>
    send("skipPipelineStep", { params: { id: s.runB, stepId: "second" }, body: { reason: REASON } }),
  cancelPipelineRun: () => send("cancelPipelineRun", { params: { id: s.runB }, body: { reason: REASON } }),
  retryPipelineStep: () =>
    send("retryPipelineStep", { params: { id: s.runF, stepId: "only" }, body: { reason: REASON } }),
  approvePipelineStepBudget: () =>
    send("approvePipelineStepBudget", {
      params: { id: s.gateApprove, stepId: "budget" },
      body: { comment: "approved by the contract test" },
    }),
  rejectPipelineStepBudget: () =>
    send("rejectPipelineStepBudget", {
      params: { id: s.gateReject, stepId: "budget" },
      body: { comment: "rejected by the contract test" },
    }),

  // Artifacts and conversations of run A (written as the operator).
  createArtifact: async () => {
    const a = await send("createArtifact", {
      params: { id: s.runA },
      body: {
        stepId: "first",
        type: "text/markdown",
        title: "Notes",
        content: "# notes",
        metadata: { source: "contract" },
      },
    });
    s.artifact = a.body?.id;
    return a;
  },
  listRunArtifacts: () => send("listRunArtifacts", { params: { id: s.runA } }),
  getArtifact: () => send("getArtifact", { params: { id: s.artifact } }),
  openConversation: async () => {
    const a = await send("openConversation", {
      params: { id: s.runA },
      body: { stepId: "first", title: "Clarify the topic" },
    });
    s.conversation = a.body?.id;
    return a;
  },
  addConversationMessage: () =>
    send("addConversationMessage", {
      params: { id: s.conversation },
      body: { role: "user", content: "what is the scope?", metadata: { turn: 1 } },
    }),
  getConversation: () => send("getConversation", { params: { id: s.conversation } }),
  listRunConversations: () => send("listRunConversations", { params: { id: s.runA } }),
  completeConversation: () =>
    send("completeConversation", { params: { id: s.conversation }, body: { summary: "scope agreed" } }),

  // Feedback, the export and the workflow reads, once runs have finished and been rated.
  recordFeedback: () =>
    send("recordFeedback", {
      body: { runId: s.gateApprove, stepId: "budget", score: 4, comment: "quick approval" },
    }),
  listFeedback: () => send("listFeedback", { query: { runId: s.gateApprove } }),
  exportLlmCalls: async () => {
    const a = await send("exportLlmCalls", { query: { format: "jsonl" } });
    // Beyond the content type: each line is an ExportRecord (closed like an answer).
    const lines = a.text.split("\n").filter((line) => line !== "");
    expect(lines.length).toBeGreaterThanOrEqual(2);
    const check = validatorOf(ExportRecord);
    for (const line of lines) expect(check(JSON.parse(line)), ajv.errorsText(check.errors)).toBe(true);
    return a;
  },
  getWorkflowHistory: () => send("getWorkflowHistory"),
  getWorkflowStatistics: () => send("getWorkflowStatistics"),
  getWorkflowPerformance: () => send("getWorkflowPerformance"),
  getWorkflowPending: () => send("getWorkflowPending", { query: { limit: "20" } }),
  getWorkflowDetails: () => send("getWorkflowDetails", { params: { id: s.runA } }),

  // Schedules.
  createSchedule: async () => {
    const a = await send("createSchedule", {
      body: {
        name: "contract-nightly",
        template: FLOW_TEMPLATE.name,
        input: { topic: "nightly" },
        cron: "0 3 * * *",
        timezone: "Europe/Paris",
      },
    });
    s.schedule = a.body?.id;
    return a;
  },
  listSchedules: () => send("listSchedules"),
  getSchedule: () => send("getSchedule", { params: { id: s.onceSchedule } }),
  pauseSchedule: () => send("pauseSchedule", { params: { id: s.schedule }, body: { reason: REASON } }),
  resumeSchedule: () => send("resumeSchedule", { params: { id: s.schedule }, body: { reason: REASON } }),

  // Dashboards, coordination and recovery reads.
  getAgentsStatus: () => send("getAgentsStatus", { query: { includeEnded: "true" } }),
  getAgentHeartbeats: () => send("getAgentHeartbeats"),
  getTaskQueue: () => send("getTaskQueue"),
  getSystemHealth: () => send("getSystemHealth"),
  getConsoleSession: () => send("getConsoleSession"),
  getSuccessRate: () => send("getSuccessRate"),
  getFailureClasses: () => send("getFailureClasses", { query: { window: "24h" } }),
  getCoordinationDiagnostics: () => send("getCoordinationDiagnostics"),
  getCoordinationLog: () => send("getCoordinationLog", { query: { window: "1h", limit: "50" } }),
  getTaskDistribution: () => send("getTaskDistribution"),
  getAgentMetrics: () => send("getAgentMetrics", { params: { id: worker.id } }),
  listManagedAgents: async () => {
    const a = await send("listManagedAgents");
    expect(a.body?.managed?.map((m: { name: string }) => m.name)).toEqual(["contract-idle"]);
    return a;
  },
  runAutoHeal: () => send("runAutoHeal", { body: { strategy: "smart", dryRun: true } }),

  // Levers, each on its own data.
  reassignTask: () =>
    send("reassignTask", { params: { id: s.submitted }, body: { agentId: receiver.id, reason: REASON } }),
  retryTaskWithPriorityBoost: () =>
    send("retryTaskWithPriorityBoost", {
      params: { id: s.failedTask },
      body: { reason: REASON, priorityBoost: 50 },
    }),
  restartAgent: () =>
    send("restartAgent", { params: { id: restartee.id }, body: { reason: REASON, mode: "restart" } }),

  // Destructive last: stop dispatch (dry run, then confirmed) and undo it, a soft reset (dry run,
  // then confirmed), deletes, and the audit log that recorded them.
  requestEmergencyOverride: async () => {
    const body = { action: "stop_all_tasks", reason: REASON, expiresInMs: 60_000 };
    const dry = await ok("requestEmergencyOverride", { body });
    const a = await send("requestEmergencyOverride", {
      body: { ...body, confirmationToken: dry.confirmationToken },
    });
    s.override = a.body?.override?.id;
    return a;
  },
  listOverrides: () => send("listOverrides", { query: { state: "active" } }),
  undoOverride: () => send("undoOverride", { params: { id: s.override }, body: { reason: REASON } }),
  resetCoordination: async () => {
    const body = { level: "soft", reason: REASON };
    const dry = await ok("resetCoordination", { body });
    return send("resetCoordination", { body: { ...body, confirmationToken: dry.confirmationToken } });
  },
  deleteSchedule: () => send("deleteSchedule", { params: { id: s.schedule } }),
  deleteBudget: () => send("deleteBudget", { params: { id: s.budget } }),
  listAuditEntries: () => send("listAuditEntries", { query: { limit: "200" } }),
};

// ---- the test --------------------------------------------------------------------------------

const driven = new Set<string>();

describe("every route of the contract, driven once", () => {
  it("checks answers closed, as the daemon does: an undeclared field fails", () => {
    const check = validatorOf(ErrorBody);
    expect(check({ error: { code: "OVS_ERR_X", message: "m" } })).toBe(true);
    expect(check({ error: { code: "OVS_ERR_X", message: "m", extra: 1 } })).toBe(false);
    expect(check({ error: { code: "OVS_ERR_X", message: "m" }, extra: 1 })).toBe(false);
  });

  it("has exactly one driver per route", () => {
    const routes = ROUTE_CONTRACTS.map((r) => r.operationId);
    const ids = Object.keys(drivers);
    expect(
      routes.filter((id) => !(id in drivers)),
      "routes without a driver",
    ).toEqual([]);
    expect(
      ids.filter((id) => !ROUTES.has(id)),
      "drivers of no route",
    ).toEqual([]);
    expect(ids.length).toBe(routes.length);
  });

  for (const [operationId, drive] of Object.entries(drivers)) {
    const route = ROUTES.get(operationId);
    it(`${operationId}: ${route?.method} ${route?.url}`, async () => {
      const a = await drive();
      expect(a.operationId, "the driver called another route").toBe(operationId);
      expectSuccess(a);
      driven.add(operationId);
    });
  }

  it("drove every route, and every answer matched its schema", () => {
    expect(driven.size).toBe(ROUTE_CONTRACTS.length);
    console.log(
      `contract: ${driven.size} of ${ROUTE_CONTRACTS.length} routes driven; every answer matched its schema`,
    );
  });
});
