import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Authenticator } from "../../api/auth.ts";
import { ERROR_CODES, type ErrorCode } from "../../contract/errors.ts";
import { type ApiResponse, call } from "../helpers/api-client.ts";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { TOKENS } from "../helpers/test-env.ts";

/**
 * Acceptance: bad input on every route gets the right 4xx and error code, never a 5xx, and writes
 * nothing. Every route below is exercised with missing/wrong tokens, the wrong role, bad bodies,
 * bad and unknown ids and other agents' leases; Postgres is then checked against a tally of the
 * few valid setup calls.
 */

// Large enough for a deeply nested payload (see "product bugs" below), small enough to overflow cheaply.
const MAX_BODY_BYTES = 16_384;
const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";

let d: TestDaemon;
let db: pg.Client;

/** What the valid setup calls created; the rejected calls must not change any of it. */
const tally = { agents: 0, transitions: 0, tasks: 0, attempts: 0 };

interface Setup {
  /** Agent A holds the lease on t1 (token a1) and on t2 (token a2b; a2 is its stale, released lease). */
  a: { id: string; token: string };
  /** Agent B holds the lease on t3 (b3) and on t5 (b5, used only by the product-bug probes). */
  b: { id: string; token: string };
  /** A token that verifies but whose agent was never registered. */
  ghostToken: string;
  t1: string;
  t2: string;
  t3: string;
  /** Queued, never claimed. */
  t4: string;
  t5: string;
  a1: string;
  a2: string;
  a2b: string;
  b3: string;
  b5: string;
}
let s: Setup;

interface TaskSnapshot {
  tasks: unknown[];
  attempts: unknown[];
}
let before: TaskSnapshot;

/** Every response of the matrix, for the global "never a 5xx" check. */
const responses: Array<{ label: string; status: number; text: string }> = [];

type Opts = { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> };

async function req(method: string, path: string, opts: Opts = {}): Promise<ApiResponse> {
  const r = await call(d.url, method, path, opts);
  responses.push({ label: `${method} ${path}`, status: r.status, text: r.text });
  return r;
}

/** The response is exactly `{error: {code, message, details?}}` with `code` and the registry's status for it. */
function expectError(r: ApiResponse, code: ErrorCode, label = ""): void {
  const what = `${label} → ${r.status} ${r.text.slice(0, 300)}`;
  expect(r.status, what).toBe(ERROR_CODES[code].status);
  expectErrorShape(r, what);
  expect(r.body.error.code, what).toBe(code);
}

/** A well-formed error: 4xx, a registry code whose status is the response's status. */
function expectErrorShape(r: ApiResponse, what = `${r.status} ${r.text.slice(0, 300)}`): void {
  expect(r.status, what).toBeGreaterThanOrEqual(400);
  expect(r.status, what).toBeLessThan(500);
  expect(r.body, what).toBeTypeOf("object");
  expect(r.body, what).not.toBeNull();
  expect(Object.keys(r.body), what).toEqual(["error"]);
  const { code, message, details } = r.body.error ?? {};
  expect(
    Object.keys(r.body.error).every((k) => ["code", "message", "details"].includes(k)),
    what,
  ).toBe(true);
  expect(message, what).toBeTypeOf("string");
  expect(Object.keys(ERROR_CODES), what).toContain(code);
  expect(ERROR_CODES[code as ErrorCode].status, what).toBe(r.status);
  if (details !== undefined) expect(details, what).toBeTypeOf("object");
}

// ---------------------------------------------------------------------------------------------
// The route table.

type Need = "register" | "agent" | "agent-or-operator" | "operator" | "viewer";
type TokenName = "admin" | "operator" | "viewer" | "registrar" | "agentA" | "agentB";

interface Route {
  method: "GET" | "POST" | "DELETE";
  /** The route as declared (for test names). */
  route: string;
  need: Need;
  /** The concrete path with valid ids. */
  path: (s: Setup) => string;
  /** A token the route accepts, for the body and id checks. */
  token: (s: Setup) => string;
  /** A valid body (POST). Used unchanged for the auth checks, so a missed check would write. */
  body?: (s: Setup) => unknown;
  /** Bodies with a wrong type or out-of-range value. */
  wrongTypes?: Array<(s: Setup) => unknown>;
  /** Bodies missing a required field. */
  missing?: Array<(s: Setup) => unknown>;
  /** Has an `:id` param of this kind. */
  id?: "agent" | "task";
  /** The path with another id substituted. */
  withId?: (id: string) => string;
  /** A token and body for the "well-formed but unknown id" check, and the expected code. */
  unknown?: { token: (s: Setup) => string; body?: (s: Setup) => unknown; code: ErrorCode };
}

const FORBIDDEN: Record<Need, TokenName[]> = {
  register: ["operator", "viewer", "agentA"],
  agent: ["admin", "operator", "viewer", "registrar"],
  "agent-or-operator": ["viewer", "registrar"],
  operator: ["viewer", "registrar", "agentA"],
  viewer: ["registrar", "agentA"],
};

function tokenOf(name: TokenName): string {
  switch (name) {
    case "admin":
      return TOKENS.admin;
    case "operator":
      return TOKENS.operator;
    case "viewer":
      return TOKENS.viewer;
    case "registrar":
      return TOKENS.agentSecret;
    case "agentA":
      return s.a.token;
    case "agentB":
      return s.b.token;
  }
}

const asA = (x: Setup) => x.a.token;
const leaseRoute = (
  op: "progress" | "complete" | "fail" | "release",
  extra: (x: Setup) => Record<string, unknown>,
  wrongTypes: Array<(x: Setup) => unknown>,
  missing: Array<(x: Setup) => unknown>,
): Route => ({
  method: "POST",
  route: `/api/tasks/:id/${op}`,
  need: "agent",
  path: (x) => `/api/tasks/${x.t1}/${op}`,
  token: asA,
  body: (x) => ({ leaseToken: x.a1, ...extra(x) }),
  wrongTypes,
  missing,
  id: "task",
  withId: (id) => `/api/tasks/${id}/${op}`,
  unknown: { token: asA, body: (x) => ({ leaseToken: x.a1, ...extra(x) }), code: "OVS_ERR_TASK_NOT_FOUND" },
});

const ROUTES: Route[] = [
  {
    method: "POST",
    route: "/api/agents/register",
    need: "register",
    path: () => "/api/agents/register",
    token: () => TOKENS.agentSecret,
    body: () => ({ name: "never-registered", role: "worker", capabilities: ["bad.a"] }),
    wrongTypes: [
      () => ({ name: "n", role: "worker", capabilities: "x" }),
      () => ({ name: 5, role: "worker", capabilities: [] }),
      () => ({ name: "n", role: "worker", capabilities: [], concurrency: "2" }),
      () => ({ name: "n", role: "worker", capabilities: [], concurrency: 0 }),
      () => ({ name: "n", role: "has space", capabilities: [] }),
      () => ({ name: "", role: "worker", capabilities: [] }),
      () => ({ name: "n", role: "worker", capabilities: ["not a type!"] }),
    ],
    missing: [
      () => ({ role: "worker", capabilities: [] }),
      () => ({ name: "n", capabilities: [] }),
      () => ({ name: "n", role: "worker" }),
      () => ({}),
    ],
  },
  {
    method: "POST",
    route: "/api/agents/:id/heartbeat",
    need: "agent",
    path: (x) => `/api/agents/${x.a.id}/heartbeat`,
    token: asA,
    body: () => ({}),
    wrongTypes: [
      () => ({ status: "sleeping" }),
      () => ({ status: 1 }),
      () => ({ load: "1" }),
      () => ({ load: -1 }),
      () => ({ activeTaskIds: "x" }),
      () => ({ activeTaskIds: ["not-a-uuid"] }),
    ],
    id: "agent",
    withId: (id) => `/api/agents/${id}/heartbeat`,
    unknown: { token: (x) => x.ghostToken, body: () => ({}), code: "OVS_ERR_AGENT_NOT_FOUND" },
  },
  {
    method: "POST",
    route: "/api/agents/:id/claim",
    need: "agent",
    path: (x) => `/api/agents/${x.a.id}/claim`,
    token: asA,
    body: () => ({ max: 1, waitMs: 0 }),
    wrongTypes: [
      () => ({ max: "1" }),
      () => ({ max: 0 }),
      () => ({ max: 1.5 }),
      () => ({ waitMs: -1 }),
      () => ({ waitMs: "0" }),
    ],
    id: "agent",
    withId: (id) => `/api/agents/${id}/claim`,
    unknown: {
      token: (x) => x.ghostToken,
      body: () => ({ max: 1, waitMs: 0 }),
      code: "OVS_ERR_AGENT_NOT_FOUND",
    },
  },
  {
    method: "DELETE",
    route: "/api/agents/:id",
    need: "agent-or-operator",
    path: (x) => `/api/agents/${x.a.id}`,
    token: () => TOKENS.operator,
    id: "agent",
    withId: (id) => `/api/agents/${id}`,
    unknown: { token: () => TOKENS.operator, code: "OVS_ERR_AGENT_NOT_FOUND" },
  },
  {
    method: "POST",
    route: "/api/tasks",
    need: "operator",
    path: () => "/api/tasks",
    token: () => TOKENS.operator,
    body: () => ({ type: "bad.never", payload: { n: 1 } }),
    wrongTypes: [
      () => ({ type: "bad.a", payload: 1, priority: "high" }),
      () => ({ type: "bad.a", payload: 1, priority: 1.5 }),
      () => ({ type: "bad.a", payload: 1, priority: 100_000 }),
      () => ({ type: "bad.a", payload: 1, maxAttempts: "3" }),
      () => ({ type: "bad.a", payload: 1, maxAttempts: 0 }),
      () => ({ type: "bad.a", payload: 1, timeoutMs: 1 }),
      () => ({ type: "bad.a", payload: 1, idempotencyKey: 7 }),
      () => ({ type: "bad.a", payload: 1, idempotencyKey: "" }),
      () => ({ type: 5, payload: 1 }),
      () => ({ type: "has space", payload: 1 }),
      () => [{ type: "bad.a", payload: 1 }],
      () => null,
    ],
    missing: [() => ({ payload: 1 }), () => ({ type: "bad.a" }), () => ({})],
  },
  {
    method: "GET",
    route: "/api/tasks/:id",
    need: "viewer",
    path: (x) => `/api/tasks/${x.t1}`,
    token: () => TOKENS.viewer,
    id: "task",
    withId: (id) => `/api/tasks/${id}`,
    unknown: { token: () => TOKENS.viewer, code: "OVS_ERR_TASK_NOT_FOUND" },
  },
  {
    method: "POST",
    route: "/api/tasks/:id/retry",
    need: "operator",
    path: (x) => `/api/tasks/${x.t1}/retry`,
    token: () => TOKENS.operator,
    id: "task",
    withId: (id) => `/api/tasks/${id}/retry`,
    unknown: { token: () => TOKENS.operator, code: "OVS_ERR_TASK_NOT_FOUND" },
  },
  leaseRoute(
    "progress",
    () => ({ percent: 10, message: "m" }),
    [
      () => ({ leaseToken: 123 }),
      (x) => ({ leaseToken: x.a1, percent: "50" }),
      (x) => ({ leaseToken: x.a1, percent: 101 }),
      (x) => ({ leaseToken: x.a1, message: 5 }),
      () => ({ leaseToken: "abc" }),
      () => ({ leaseToken: "" }),
    ],
    [() => ({}), () => ({ percent: 5 })],
  ),
  leaseRoute(
    "complete",
    () => ({ result: { ok: true } }),
    [() => ({ leaseToken: 123 }), (x) => ({ leaseToken: [x.a1] }), () => ({ leaseToken: "-1" })],
    [() => ({ result: 1 }), () => ({})],
  ),
  leaseRoute(
    "fail",
    () => ({ error: { message: "boom", category: "tool_error", retryable: true } }),
    [
      () => ({ leaseToken: 123, error: { message: "x" } }),
      (x) => ({ leaseToken: x.a1, error: "boom" }),
      (x) => ({ leaseToken: x.a1, error: { message: "x", retryable: "yes" } }),
      (x) => ({ leaseToken: x.a1, error: { message: "" } }),
      (x) => ({ leaseToken: x.a1, error: { message: "x", category: "Not Snake" } }),
    ],
    [
      (x) => ({ leaseToken: x.a1 }),
      () => ({ error: { message: "x" } }),
      (x) => ({ leaseToken: x.a1, error: {} }),
    ],
  ),
  leaseRoute(
    "release",
    () => ({}),
    [() => ({ leaseToken: 123 }), () => ({ leaseToken: null }), () => ({ leaseToken: true })],
    [() => ({})],
  ),
  {
    method: "GET",
    route: "/api/dashboard/agents/status",
    need: "viewer",
    path: () => "/api/dashboard/agents/status",
    token: () => TOKENS.viewer,
  },
  {
    method: "GET",
    route: "/api/dashboard/agents/heartbeat",
    need: "viewer",
    path: () => "/api/dashboard/agents/heartbeat",
    token: () => TOKENS.viewer,
  },
  {
    method: "GET",
    route: "/api/dashboard/tasks/queue",
    need: "viewer",
    path: () => "/api/dashboard/tasks/queue",
    token: () => TOKENS.viewer,
  },
];

// ---------------------------------------------------------------------------------------------
// Setup: two agents, a few tasks and leases, all through the API, each counted.

async function register(name: string, capabilities: string[]) {
  const agent = await d.registerAgent(name, capabilities, { concurrency: 4 });
  tally.agents += 1;
  tally.transitions += 1; // registered → active
  return agent;
}

async function submit(type: string): Promise<string> {
  const r = await call(d.url, "POST", "/api/tasks", {
    token: TOKENS.operator,
    body: { type, payload: { type } },
  });
  expect(r.status, r.text).toBe(202);
  tally.tasks += 1;
  return r.body.id;
}

async function claimOne(agent: { id: string; token: string }, taskId: string): Promise<string> {
  const r = await call(d.url, "POST", `/api/agents/${agent.id}/claim`, {
    token: agent.token,
    body: { max: 1, waitMs: 3_000 },
  });
  expect(r.status, r.text).toBe(200);
  expect(r.body.tasks.map((t: { id: string }) => t.id)).toEqual([taskId]);
  tally.attempts += 1;
  return r.body.tasks[0].leaseToken;
}

async function snapshot(): Promise<TaskSnapshot> {
  const tasks = await db.query(
    `SELECT id, state, attempts, failures, lease_token, lease_agent_id, lease_expires_at, progress_percent,
       progress_message, result, error, dead_reason, ready_at, updated_at, finished_at
     FROM tasks WHERE id = ANY($1::uuid[]) ORDER BY id`,
    [[s.t1, s.t2, s.t3, s.t4]],
  );
  const attempts = await db.query(
    `SELECT task_id, attempt, agent_id, lease_token, claimed_at, finished_at, outcome, error
     FROM task_attempts WHERE task_id = ANY($1::uuid[]) ORDER BY task_id, attempt`,
    [[s.t1, s.t2, s.t3, s.t4]],
  );
  return { tasks: tasks.rows, attempts: attempts.rows };
}

beforeAll(async () => {
  // Slow liveness so the heartbeating test agents can never go stale (which would write a transition).
  d = await startTestDaemon({
    OVERSEER_MAX_BODY_BYTES: String(MAX_BODY_BYTES),
    OVERSEER_HEARTBEAT_INTERVAL_MS: "500",
    OVERSEER_AGENT_STALE_AFTER_MS: "10000",
    OVERSEER_AGENT_DEAD_AFTER_MS: "20000",
  });
  db = await namespaceDb(d.namespace);
  const a = await register("bad-a", ["bad.a"]);
  const b = await register("bad-b", ["bad.b"]);
  const t1 = await submit("bad.a");
  const a1 = await claimOne(a, t1);
  const t2 = await submit("bad.a");
  const a2 = await claimOne(a, t2);
  // A releases t2 (valid; the attempt row stays, outcome released) and claims it again: a2 is now stale.
  const released = await call(d.url, "POST", `/api/tasks/${t2}/release`, {
    token: a.token,
    body: { leaseToken: a2 },
  });
  expect(released.status, released.text).toBe(200);
  const a2b = await claimOne(a, t2);
  const t3 = await submit("bad.b");
  const b3 = await claimOne(b, t3);
  const t4 = await submit("bad.queued");
  const t5 = await submit("bad.b");
  const b5 = await claimOne(b, t5);
  const ghostToken = new Authenticator({
    tokens: { admin: TOKENS.admin, operator: TOKENS.operator, viewer: TOKENS.viewer },
    agentSecret: TOKENS.agentSecret,
    namespace: d.namespace,
  }).agentToken(UNKNOWN_ID);
  s = { a, b, ghostToken, t1, t2, t3, t4, t5, a1, a2, a2b, b3, b5 };
  before = await snapshot();
});

afterAll(async () => {
  await db?.end();
  await d?.close();
});

// ---------------------------------------------------------------------------------------------

const BAD_AUTH_HEADERS: Array<[string, (x: Setup) => string]> = [
  ["an unknown bearer token", () => "Bearer not-a-real-token-0123456789"],
  ["an empty bearer token", () => "Bearer "],
  ["a non-bearer scheme", () => `Basic ${TOKENS.admin}`],
  ["a lower-case scheme", () => `bearer ${TOKENS.admin}`],
  ["a tampered agent token", (x) => `Bearer ovsa.${x.a.id}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`],
  ["an agent token for a different id", (x) => `Bearer ${x.a.token.replace(x.a.id, x.b.id)}`],
  ["a role token with a suffix", () => `Bearer ${TOKENS.admin}x`],
];

for (const route of ROUTES) {
  const label = `${route.method} ${route.route}`;
  describe(label, () => {
    it("no token → 401 OVS_ERR_UNAUTHENTICATED (checked before the body is parsed)", async () => {
      expectError(
        await req(route.method, route.path(s), { body: route.body?.(s) }),
        "OVS_ERR_UNAUTHENTICATED",
      );
      if (route.method === "POST") {
        expectError(
          await req(route.method, route.path(s), { rawBody: '{"a":' }),
          "OVS_ERR_UNAUTHENTICATED",
          "no token + malformed JSON",
        );
      }
    });

    it("a wrong token → 401 OVS_ERR_UNAUTHENTICATED", async () => {
      for (const [what, header] of BAD_AUTH_HEADERS) {
        const r = await req(route.method, route.path(s), {
          headers: { authorization: header(s) },
          body: route.body?.(s),
        });
        expectError(r, "OVS_ERR_UNAUTHENTICATED", what);
      }
    });

    it(`the wrong role (${FORBIDDEN[route.need].join(", ")}) → 403 OVS_ERR_FORBIDDEN`, async () => {
      for (const who of FORBIDDEN[route.need]) {
        const r = await req(route.method, route.path(s), { token: tokenOf(who), body: route.body?.(s) });
        expectError(r, "OVS_ERR_FORBIDDEN", who);
      }
    });

    if (route.method === "POST") {
      it("malformed JSON → 400 OVS_ERR_MALFORMED_JSON", async () => {
        for (const raw of ['{"a":', "{'a': 1}", "{}}", "nul", '{"a":1,}']) {
          expectError(
            await req("POST", route.path(s), { token: route.token(s), rawBody: raw }),
            "OVS_ERR_MALFORMED_JSON",
            raw,
          );
        }
        // An empty body declared as JSON is malformed too.
        expectError(
          await req("POST", route.path(s), {
            token: route.token(s),
            rawBody: "",
            headers: { "content-type": "application/json" },
          }),
          "OVS_ERR_MALFORMED_JSON",
          "empty JSON body",
        );
      });

      it(`a body over the limit (${MAX_BODY_BYTES} bytes) → 413 OVS_ERR_BODY_TOO_LARGE`, async () => {
        const base = (route.body?.(s) ?? {}) as Record<string, unknown>;
        const r = await req("POST", route.path(s), {
          token: route.token(s),
          body: { ...base, pad: "x".repeat(MAX_BODY_BYTES + 100) },
        });
        expectError(r, "OVS_ERR_BODY_TOO_LARGE");
      });

      it("a non-JSON content type (form, XML, none) → 415 OVS_ERR_UNSUPPORTED_MEDIA_TYPE", async () => {
        for (const type of ["application/x-www-form-urlencoded", "application/xml", ""]) {
          const r = await req("POST", route.path(s), {
            token: route.token(s),
            rawBody: JSON.stringify(route.body?.(s) ?? {}),
            headers: { "content-type": type },
          });
          expectError(r, "OVS_ERR_UNSUPPORTED_MEDIA_TYPE", `content-type "${type}"`);
        }
      });
    }

    if (route.wrongTypes) {
      it("wrong types and out-of-range values → 400 OVS_ERR_VALIDATION", async () => {
        for (const make of route.wrongTypes ?? []) {
          const body = make(s);
          const r = await req("POST", route.path(s), { token: route.token(s), body });
          expectError(r, "OVS_ERR_VALIDATION", JSON.stringify(body));
        }
      });
    }

    if (route.missing) {
      it("missing required fields (and an absent body) → 400 OVS_ERR_VALIDATION", async () => {
        for (const make of route.missing ?? []) {
          const body = make(s);
          const r = await req("POST", route.path(s), { token: route.token(s), body });
          expectError(r, "OVS_ERR_VALIDATION", JSON.stringify(body));
        }
        const empty = await req("POST", route.path(s), { token: route.token(s) });
        expectError(empty, "OVS_ERR_VALIDATION", "no body at all");
      });
    }

    if (route.id && route.withId && route.unknown) {
      const { withId, unknown } = route;
      it("a malformed id → 400 OVS_ERR_VALIDATION", async () => {
        for (const bad of [
          "not-a-uuid",
          "1",
          `${UNKNOWN_ID}0`,
          "00000000-0000-4000-8000-00000000000g",
          "%00",
        ]) {
          const r = await req(route.method, withId(bad), {
            token: unknown.token(s),
            body: unknown.body?.(s),
          });
          expectError(r, "OVS_ERR_VALIDATION", bad);
        }
      });

      it(`a well-formed unknown id → 404 ${unknown.code}`, async () => {
        const r = await req(route.method, withId(UNKNOWN_ID), {
          token: unknown.token(s),
          body: unknown.body?.(s),
        });
        expectError(r, unknown.code);
      });
    }

    if (route.id === "agent" && route.withId) {
      const { withId } = route;
      it("an agent token acting on another agent's id → 403 OVS_ERR_FORBIDDEN", async () => {
        expectError(
          await req(route.method, withId(s.a.id), { token: s.b.token, body: route.body?.(s) }),
          "OVS_ERR_FORBIDDEN",
          "B on A",
        );
        expectError(
          await req(route.method, withId(s.b.id), { token: s.a.token, body: route.body?.(s) }),
          "OVS_ERR_FORBIDDEN",
          "A on B",
        );
        // An agent that was never registered cannot act on a real one either.
        expectError(
          await req(route.method, withId(s.a.id), { token: s.ghostToken, body: route.body?.(s) }),
          "OVS_ERR_FORBIDDEN",
          "ghost on A",
        );
      });
    }
  });
}

describe("leases", () => {
  const ops = [
    ["progress", { percent: 50 }],
    ["complete", { result: { stolen: true } }],
    ["fail", { error: { message: "stolen", retryable: false } }],
    ["release", {}],
  ] as const;

  // Issue 15: a lease token that is not the caller's current lease answers one 409, the same
  // whether it is another agent's, stale or never issued: it reveals nothing about other leases
  // (it used to be 403 "this lease belongs to another agent").
  const notYours = (token: string, taskId: string) =>
    `lease ${token} is not a current lease of this agent on task ${taskId}`;

  it("another agent presenting a lease it does not hold → 409 OVS_ERR_LEASE_CONFLICT, as for a stale one", async () => {
    for (const [op, extra] of ops) {
      // B presents A's current lease on A's task.
      const r = await req("POST", `/api/tasks/${s.t1}/${op}`, {
        token: s.b.token,
        body: { leaseToken: s.a1, ...extra },
      });
      expectError(r, "OVS_ERR_LEASE_CONFLICT", `${op}: B with A's lease`);
      expect(r.body.error.message).toBe(notYours(s.a1, s.t1));
      expect(r.body.error.details).toEqual({ state: "active" });
      // A presents B's current lease on B's task.
      const r2 = await req("POST", `/api/tasks/${s.t3}/${op}`, {
        token: s.a.token,
        body: { leaseToken: s.b3, ...extra },
      });
      expectError(r2, "OVS_ERR_LEASE_CONFLICT", `${op}: A with B's lease`);
      expect(r2.body.error.message).toBe(notYours(s.b3, s.t3));
      expect(r2.body.error.details).toEqual({ state: "active" });
    }
  });

  it("a stale lease (released, then re-leased to the same agent) → 409 OVS_ERR_LEASE_CONFLICT", async () => {
    for (const [op, extra] of ops) {
      const r = await req("POST", `/api/tasks/${s.t2}/${op}`, {
        token: s.a.token,
        body: { leaseToken: s.a2, ...extra },
      });
      expectError(r, "OVS_ERR_LEASE_CONFLICT", `${op} with stale lease`);
      expect(r.body.error.details, op).toMatchObject({ state: "active" });
      expect(r.body.error.message).toBe(notYours(s.a2, s.t2));
    }
  });

  it("a lease of another task, a never-issued lease and a lease on a queued task → 409 OVS_ERR_LEASE_CONFLICT", async () => {
    for (const [op, extra] of ops) {
      // A's own lease on t2, presented for t1.
      expectError(
        await req("POST", `/api/tasks/${s.t1}/${op}`, {
          token: s.a.token,
          body: { leaseToken: s.a2b, ...extra },
        }),
        "OVS_ERR_LEASE_CONFLICT",
        `${op}: A's t2 lease on t1`,
      );
      expectError(
        await req("POST", `/api/tasks/${s.t1}/${op}`, {
          token: s.a.token,
          body: { leaseToken: "987654321", ...extra },
        }),
        "OVS_ERR_LEASE_CONFLICT",
        `${op}: never-issued lease`,
      );
      expectError(
        await req("POST", `/api/tasks/${s.t4}/${op}`, {
          token: s.a.token,
          body: { leaseToken: s.a1, ...extra },
        }),
        "OVS_ERR_LEASE_CONFLICT",
        `${op}: A's t1 lease on queued t4`,
      );
    }
  });

  it("a lease-holding agent that was never registered (ghost token) → 409, never a write", async () => {
    for (const [op, extra] of ops) {
      const r = await req("POST", `/api/tasks/${s.t1}/${op}`, {
        token: s.ghostToken,
        body: { leaseToken: s.a1, ...extra },
      });
      expectError(r, "OVS_ERR_LEASE_CONFLICT", `${op}: ghost with A's lease`);
      expect(r.body.error.message).toBe(notYours(s.a1, s.t1));
    }
  });
});

describe("operator retry", () => {
  it("retry of a task that is not dead or failed → 409 OVS_ERR_TASK_STATE_CONFLICT", async () => {
    for (const [id, state] of [
      [s.t1, "active"],
      [s.t4, "queued"],
    ] as const) {
      const r = await req("POST", `/api/tasks/${id}/retry`, { token: TOKENS.operator });
      expectError(r, "OVS_ERR_TASK_STATE_CONFLICT", state);
      expect(r.body.error.details).toMatchObject({ state });
    }
    // Admin ranks above operator: same answer.
    expectError(
      await req("POST", `/api/tasks/${s.t1}/retry`, { token: TOKENS.admin }),
      "OVS_ERR_TASK_STATE_CONFLICT",
    );
  });
});

describe("dashboard query strings", () => {
  it("bad query values → 400 OVS_ERR_VALIDATION", async () => {
    for (const path of [
      "/api/dashboard/agents/status?limit=0",
      "/api/dashboard/agents/status?limit=abc",
      "/api/dashboard/agents/status?limit=1&limit=2",
      "/api/dashboard/agents/status?state=zombie",
      "/api/dashboard/agents/status?includeEnded=yes",
      `/api/dashboard/agents/status?role=${"r".repeat(65)}`,
      "/api/dashboard/tasks/queue?state=zombie",
      `/api/dashboard/tasks/queue?type=${"t".repeat(65)}`,
    ]) {
      expectError(await req("GET", path, { token: TOKENS.viewer }), "OVS_ERR_VALIDATION", path);
    }
  });
});

describe("public and unknown routes", () => {
  it("/metrics, /healthz, /readyz and /docs need no token and ignore a bad one", async () => {
    for (const path of ["/metrics", "/healthz", "/readyz", "/docs"]) {
      expect((await req("GET", path)).status, path).toBe(200);
      expect((await req("GET", path, { token: "not-a-real-token" })).status, path).toBe(200);
    }
  });

  it("an unknown route → 404 OVS_ERR_ROUTE_NOT_FOUND (an unknown /api route still needs a token)", async () => {
    expectError(await req("GET", "/nope"), "OVS_ERR_ROUTE_NOT_FOUND", "GET /nope");
    expectError(await req("POST", "/nope", { body: {} }), "OVS_ERR_ROUTE_NOT_FOUND", "POST /nope");
    expectError(await req("GET", "/api/nope"), "OVS_ERR_UNAUTHENTICATED", "GET /api/nope without a token");
    for (const [method, path] of [
      ["GET", "/api/nope"],
      ["GET", "/api/agents"],
      ["PUT", `/api/tasks/${UNKNOWN_ID}`],
      ["DELETE", `/api/tasks/${UNKNOWN_ID}`],
      ["POST", "/api/agents/register/extra"],
      ["GET", "/api/agents/register"],
    ]) {
      expectError(
        await req(method as string, path as string, { token: TOKENS.admin }),
        "OVS_ERR_ROUTE_NOT_FOUND",
        `${method} ${path}`,
      );
    }
    // Any valid token gets the 404 for an unmatched /api path; none gets 401.
    expectError(await req("GET", "/api/nope", { token: TOKENS.viewer }), "OVS_ERR_ROUTE_NOT_FOUND", "viewer");
    expectError(
      await req("GET", "/api/nope", { token: TOKENS.operator }),
      "OVS_ERR_ROUTE_NOT_FOUND",
      "operator",
    );
  });
});

describe("nothing was written and nothing failed", () => {
  it("no response of the matrix was a 5xx, and every error body is well-formed", () => {
    expect(responses.length).toBeGreaterThan(300);
    const fivexx = responses.filter((r) => r.status >= 500);
    expect(fivexx, JSON.stringify(fivexx.slice(0, 5))).toEqual([]);
  });

  it("Postgres holds exactly what the valid setup created; rejected calls left tasks and attempts unchanged", async () => {
    const counts = await db.query<{ agents: string; transitions: string; tasks: string; attempts: string }>(
      `SELECT (SELECT count(*) FROM agents) AS agents, (SELECT count(*) FROM agent_transitions) AS transitions,
         (SELECT count(*) FROM tasks) AS tasks, (SELECT count(*) FROM task_attempts) AS attempts`,
    );
    const row = counts.rows[0]!;
    expect({
      agents: Number(row.agents),
      transitions: Number(row.transitions),
      tasks: Number(row.tasks),
      attempts: Number(row.attempts),
    }).toEqual(tally);
    expect(tally).toEqual({ agents: 2, transitions: 2, tasks: 5, attempts: 5 });
    const agents = await db.query("SELECT id, state FROM agents ORDER BY id");
    expect(agents.rows.map((r) => r.state)).toEqual(["active", "active"]);
    const after = await snapshot();
    expect(after).toEqual(before);
    const t1 = after.tasks.find((t) => (t as { id: string }).id === s.t1) as Record<string, unknown>;
    expect(t1).toMatchObject({ state: "active", lease_token: s.a1, lease_agent_id: s.a.id, result: null });
    const open = (after.attempts as Array<Record<string, unknown>>).filter((a) => a.outcome === null);
    expect(open.map((a) => a.lease_token).sort()).toEqual([s.a1, s.a2b, s.b3].sort());
  });
});

/**
 * Product bugs found while writing this suite: bad input that passes validation and reaches
 * Postgres (or JSON.stringify) and comes back as a 500, or an error body that is not ours.
 * Each test states what it expects; they run after the "nothing written" check so a half-write
 * would not hide the other results, and they use task t5 (not in the snapshot).
 */
describe("regressions: hostile input is a 4xx, never a 5xx", () => {
  it("a NUL character in a string field (Postgres rejects \\u0000 in text and jsonb) → 400", async () => {
    const probes: Array<[string, string, Opts]> = [
      [
        "submit payload",
        "/api/tasks",
        { token: TOKENS.operator, body: { type: "bad.nul", payload: "a\u0000b" } },
      ],
      [
        "submit payload key",
        "/api/tasks",
        { token: TOKENS.operator, body: { type: "bad.nul", payload: { "a\u0000": 1 } } },
      ],
      [
        "submit idempotencyKey",
        "/api/tasks",
        { token: TOKENS.operator, body: { type: "bad.nul", payload: 1, idempotencyKey: "k\u0000" } },
      ],
      [
        "register name",
        "/api/agents/register",
        { token: TOKENS.agentSecret, body: { name: "n\u0000", role: "worker", capabilities: [] } },
      ],
      [
        "progress message",
        `/api/tasks/${s.t5}/progress`,
        { token: s.b.token, body: { leaseToken: s.b5, message: "m\u0000" } },
      ],
      [
        "fail error.message",
        `/api/tasks/${s.t5}/fail`,
        { token: s.b.token, body: { leaseToken: s.b5, error: { message: "e\u0000" } } },
      ],
      [
        "complete result",
        `/api/tasks/${s.t5}/complete`,
        { token: s.b.token, body: { leaseToken: s.b5, result: "r\u0000" } },
      ],
    ];
    const got: string[] = [];
    for (const [what, path, opts] of probes) {
      const r = await call(d.url, "POST", path, opts);
      got.push(`${what}: ${r.status} ${r.body?.error?.code ?? ""}`);
    }
    expect(got).toEqual(probes.map(([what]) => `${what}: 400 OVS_ERR_VALIDATION`));
  });

  it("a lone UTF-16 surrogate in a JSON payload (Postgres jsonb rejects it) → 400", async () => {
    const r = await call(d.url, "POST", "/api/tasks", {
      token: TOKENS.operator,
      rawBody: '{"type":"bad.surrogate","payload":"\\ud800"}',
    });
    expectError(r, "OVS_ERR_VALIDATION");
  });

  it("a deeply nested payload (JSON.stringify overflows the stack in TaskStore.insert) → 400 or 413", async () => {
    const depth = 7_000;
    const r = await call(d.url, "POST", "/api/tasks", {
      token: TOKENS.operator,
      rawBody: `{"type":"bad.deep","payload":${"[".repeat(depth)}${"]".repeat(depth)}}`,
    });
    expectErrorShape(r);
  });

  it("a lease token above the bigint range (the schema allows 19 digits) → 400 or 409", async () => {
    const r = await call(d.url, "POST", `/api/tasks/${s.t5}/complete`, {
      token: s.b.token,
      body: { leaseToken: "9999999999999999999" },
    });
    expectErrorShape(r);
    expect(["OVS_ERR_VALIDATION", "OVS_ERR_LEASE_CONFLICT"]).toContain(r.body?.error?.code);
  });

  it("a text/plain body → 415 OVS_ERR_UNSUPPORTED_MEDIA_TYPE on every POST route", async () => {
    const got: string[] = [];
    for (const route of ROUTES.filter((r) => r.method === "POST")) {
      const r = await call(d.url, "POST", route.path(s), {
        token: route.token(s),
        rawBody: JSON.stringify(route.body?.(s) ?? {}),
        headers: { "content-type": "text/plain" },
      });
      got.push(`${route.route}: ${r.status} ${r.body?.error?.code ?? ""}`);
    }
    expect(got).toEqual(
      ROUTES.filter((r) => r.method === "POST").map((r) => `${r.route}: 415 OVS_ERR_UNSUPPORTED_MEDIA_TYPE`),
    );
  });

  it("a malformed percent-encoding in the URL → our error body, not Fastify's default", async () => {
    const r = await call(d.url, "GET", "/api/tasks/%zz", { token: TOKENS.viewer });
    expect(r.status).toBe(400);
    expectErrorShape(r);
  });

  it("the bug probes wrote nothing either", async () => {
    const counts = await db.query<{ agents: string; tasks: string; attempts: string }>(
      `SELECT (SELECT count(*) FROM agents) AS agents, (SELECT count(*) FROM tasks) AS tasks,
         (SELECT count(*) FROM task_attempts) AS attempts`,
    );
    const row = counts.rows[0]!;
    expect([Number(row.agents), Number(row.tasks), Number(row.attempts)]).toEqual([
      tally.agents,
      tally.tasks,
      tally.attempts,
    ]);
    const t5 = await db.query("SELECT state, lease_token FROM tasks WHERE id = $1", [s.t5]);
    expect(t5.rows[0]).toEqual({ state: "active", lease_token: s.b5 });
  });
});
