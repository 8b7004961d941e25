import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labelsOf, parseKept, sumIn } from "../../bench/chaos/prom-text.ts";
import { Agent } from "../../sdk/agent.ts";
import { eventually, startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { openSession } from "../helpers/session-client.ts";
import { TOKENS } from "../helpers/test-env.ts";

/**
 * The SDK on sessions against a real daemon: heartbeats, claims and reports go over the session
 * (none over HTTP), a session taken over by another connection comes back by itself, a stop says
 * goodbye (no death), and `transport: "http"` opens no session at all.
 */
let d: TestDaemon;
const agents: Agent[] = [];

beforeAll(async () => {
  d = await startTestDaemon({ OVERSEER_HEARTBEAT_INTERVAL_MS: "200", OVERSEER_AGENT_DEAD_AFTER_MS: "5000" });
});
afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop({ graceMs: 0 })));
  await d?.close();
});

async function scrape(): Promise<string> {
  return (await fetch(`${d.url}/metrics`)).text();
}
function value(text: string, name: string, match: Record<string, string> = {}): number {
  return sumIn(text, name, match) ?? 0;
}

const AGENT_PROTOCOL_ROUTE =
  /^\/api\/(?:agents\/:id\/(?:heartbeat|claim)|tasks\/:id\/(?:progress|complete|fail|release))$/;

/** HTTP calls of the agent protocol so far, by route (heartbeat, claim, the lease reports). */
function httpCalls(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const name = "overseer_http_request_duration_seconds_count";
  for (const [key, n] of Object.entries(parseKept(text, [name]))) {
    const route = labelsOf(key)["route"] ?? "";
    if (AGENT_PROTOCOL_ROUTE.test(route)) out[route] = (out[route] ?? 0) + n;
  }
  return out;
}

function startAgent(name: string, type: string, transport?: "session" | "http"): Agent {
  const agent = new Agent({
    url: d.url,
    agentSecret: TOKENS.agentSecret,
    name,
    role: "sdk-session",
    concurrency: 2,
    claimWaitMs: 1_000,
    ...(transport ? { transport } : {}),
    handlers: { [type]: async (ctx) => ({ n: (ctx.payload as { n: number }).n }) },
  });
  agents.push(agent);
  return agent;
}

async function runTasks(type: string, n: number): Promise<void> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await d.api("POST", "/api/tasks", { body: { type, payload: { n: i } } });
    ids.push(r.body.id as string);
  }
  await eventually(
    async () => {
      const states = await Promise.all(
        ids.map(async (id) => (await d.api("GET", `/api/tasks/${id}`)).body.state),
      );
      return states.every((s) => s === "completed");
    },
    15_000,
    `${n} ${type} tasks completed`,
  );
}

describe("the SDK on sessions", () => {
  it("heartbeats, claims and completes over its session, none of it over HTTP", async () => {
    const agent = startAgent("sdk-s-1", "sdk.s1");
    await agent.start();
    await eventually(
      async () => value(await scrape(), "overseer_agent_sessions_open") >= 1,
      5_000,
      "a session",
    );
    // Calls made before the session opened went over HTTP; from now on none may.
    const httpBefore = httpCalls(await scrape());
    await runTasks("sdk.s1", 10);
    await new Promise((r) => setTimeout(r, 500)); // a couple of heartbeats more
    const text = await scrape();
    expect(
      value(text, "overseer_agent_session_request_duration_seconds_count", {
        op: "complete",
        status_code: "200",
      }),
    ).toBe(10);
    expect(
      value(text, "overseer_agent_session_request_duration_seconds_count", {
        op: "heartbeat",
        status_code: "200",
      }),
    ).toBeGreaterThan(0);
    expect(httpCalls(text)).toEqual(httpBefore);
  });

  it("comes back when its session is taken over, and says goodbye on stop: no death", async () => {
    const agent = startAgent("sdk-s-2", "sdk.s2");
    await agent.start();
    const id = agent.id as string;
    const token = (agent as unknown as { session: { token: string } }).session.token;
    const before = await scrape();
    // Another connection with the agent's token replaces its session (4409); the SDK reconnects at once.
    const intruder = await openSession(d.url, id, token);
    await intruder.closed;
    await runTasks("sdk.s2", 5);
    expect(agent.id).toBe(id);
    const resumed = value(await scrape(), "overseer_agent_sessions_resumed_total");
    expect(resumed).toBeGreaterThanOrEqual(value(before, "overseer_agent_sessions_resumed_total") + 2);

    await agent.stop({ graceMs: 1_000 });
    await new Promise((r) => setTimeout(r, 300));
    const after = await scrape();
    expect(
      value(after, "overseer_agent_session_disconnects_total", { reason: "goodbye" }),
    ).toBeGreaterThanOrEqual(1);
    expect(value(after, "overseer_agent_session_grace_expiries_total")).toBe(0);
    const status = (await d.api("GET", "/api/dashboard/agents/status?state=left")).body;
    expect(JSON.stringify(status)).toContain(id);
  });

  it("with transport http opens no session", async () => {
    const open = value(await scrape(), "overseer_agent_sessions_open");
    const agent = startAgent("sdk-h-1", "sdk.h1", "http");
    await agent.start();
    await runTasks("sdk.h1", 3);
    expect(value(await scrape(), "overseer_agent_sessions_open")).toBe(open);
  });
});
