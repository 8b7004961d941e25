import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sumIn } from "../../bench/chaos/prom-text.ts";
import { eventually, startTestDaemon, type TestAgent, type TestDaemon } from "../helpers/daemon-harness.ts";
import { openSession, type SessionClient, sessionUpgradeStatus } from "../helpers/session-client.ts";
import { TOKENS } from "../helpers/test-env.ts";

/**
 * Agent sessions (docs/agent-protocol.md "Sessions"): the HTTP agent protocol over one WebSocket,
 * same answers and fencing; death by disconnect after the grace; a reconnect within it resumes.
 */
let d: TestDaemon;
const open: SessionClient[] = [];
const GRACE_MS = 150;

beforeAll(async () => {
  // A heartbeat deadline far away: only a disconnect can kill these agents in time.
  d = await startTestDaemon({
    OVERSEER_HEARTBEAT_INTERVAL_MS: "1000",
    OVERSEER_AGENT_DEAD_AFTER_MS: "30000",
    OVERSEER_SESSION_GRACE_MS: String(GRACE_MS),
  });
});
afterAll(async () => {
  for (const s of open) s.ws.terminate();
  await d?.close();
});

async function session(agent: TestAgent): Promise<SessionClient> {
  const s = await openSession(d.url, agent.id, agent.token);
  open.push(s);
  return s;
}

async function submit(type: string): Promise<string> {
  const r = await d.api("POST", "/api/tasks", { body: { type, payload: { n: 1 } } });
  expect(r.status).toBe(202);
  return r.body.id as string;
}

const metric = async (name: string, match: Record<string, string> = {}) =>
  sumIn(await (await fetch(`${d.url}/metrics`)).text(), name, match) ?? Number.NaN;

describe("agent sessions", () => {
  it("carries heartbeat, claim and the lease reports with the HTTP answers and fencing", async () => {
    const agent = await d.registerAgent("s-basic", ["sess.basic"], { silent: true });
    const s = await session(agent);
    expect(await s.request("heartbeat", { status: "active", activeTaskIds: [], load: 0 })).toEqual({
      re: 1,
      status: 200,
      body: { commands: [] },
    });
    const taskId = await submit("sess.basic");
    const claim = await s.request("claim", { max: 1, waitMs: 2_000 });
    expect(claim.status).toBe(200);
    const [task] = (claim as { body: { tasks: Array<{ id: string; leaseToken: string }> } }).body.tasks;
    expect(task?.id).toBe(taskId);
    const lease = task?.leaseToken as string;

    expect((await s.request("progress", { leaseToken: lease, percent: 50 }, taskId)).status).toBe(200);
    const stale = await s.request("complete", { leaseToken: "999999" }, taskId);
    expect(stale).toMatchObject({ status: 409, error: { code: "OVS_ERR_LEASE_CONFLICT" } });
    expect(await s.request("complete", { leaseToken: lease, result: { ok: 1 } }, taskId)).toMatchObject({
      status: 200,
      body: { ok: true },
    });
    // A repeat of a completion whose answer was lost is 200 again and changes nothing.
    expect((await s.request("complete", { leaseToken: lease, result: { ok: 2 } }, taskId)).status).toBe(200);
    const view = (await d.api("GET", `/api/tasks/${taskId}`)).body;
    expect(view.state).toBe("completed");
    expect(view.result).toEqual({ ok: 1 });
    expect(view.attempts.filter((a: { outcome: string }) => a.outcome === "completed")).toHaveLength(1);
  });

  it("answers bad frames 400 (with the request id when it had one) and keeps the session", async () => {
    const agent = await d.registerAgent("s-bad", ["sess.bad"], { silent: true });
    const s = await session(agent);
    expect(await s.raw("not json", null)).toMatchObject({
      re: null,
      status: 400,
      error: { code: "OVS_ERR_VALIDATION" },
    });
    expect(await s.raw(JSON.stringify({ id: 7, op: "teleport" }), 7)).toMatchObject({
      re: 7,
      status: 400,
    });
    expect(await s.raw(JSON.stringify({ id: 8, op: "claim", body: { max: 0 } }), 8)).toMatchObject({
      status: 400,
      error: { code: "OVS_ERR_VALIDATION" },
    });
    expect(
      await s.raw(JSON.stringify({ id: 9, op: "complete", body: { leaseToken: "1" } }), 9),
    ).toMatchObject({
      status: 400,
      error: { message: "complete needs `taskId`, a task id" },
    });
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(await s.request("complete", { leaseToken: "1", result: deep }, crypto.randomUUID())).toMatchObject(
      {
        status: 400,
        error: { message: "the body nests deeper than 64 levels" },
      },
    );
    expect((await s.request("heartbeat", {})).status).toBe(200);
  });

  it("refuses an upgrade without a token (401), with another agent's (403) and for a gone agent (404)", async () => {
    const a = await d.registerAgent("s-auth-a", ["sess.auth"], { silent: true });
    const b = await d.registerAgent("s-auth-b", ["sess.auth"], { silent: true });
    expect((await sessionUpgradeStatus(d.url, a.id)).status).toBe(401);
    expect((await sessionUpgradeStatus(d.url, a.id, b.token)).status).toBe(403);
    expect((await sessionUpgradeStatus(d.url, a.id, TOKENS.operator)).status).toBe(403);
    expect((await d.api("DELETE", `/api/agents/${b.id}`, { token: b.token })).status).toBe(204);
    const gone = await sessionUpgradeStatus(d.url, b.id, b.token);
    expect(gone.status).toBe(404);
    expect(JSON.parse(gone.body).error.code).toBe("OVS_ERR_AGENT_NOT_FOUND");
  });

  it("answers a heartbeat of an agent that left 404, then closes the session with 4404", async () => {
    const agent = await d.registerAgent("s-left", ["sess.left"], { silent: true });
    const s = await session(agent);
    expect((await d.api("DELETE", `/api/agents/${agent.id}`, { token: agent.token })).status).toBe(204);
    expect(await s.request("heartbeat", {})).toMatchObject({
      status: 404,
      error: { code: "OVS_ERR_AGENT_NOT_FOUND" },
    });
    expect(await s.closed).toBe(4404);
  });

  it("declares an agent dead when its session is lost and not resumed within the grace; its task is claimed elsewhere", async () => {
    const expiriesBefore = await metric("overseer_agent_session_grace_expiries_total");
    const holder = await d.registerAgent("s-crash", ["sess.crash"], { silent: true });
    const hs = await session(holder);
    const taskId = await submit("sess.crash");
    const claim = (await hs.request("claim", { max: 1, waitMs: 2_000 })) as {
      body: { tasks: Array<{ leaseToken: string }> };
    };
    const lease = claim.body.tasks[0]?.leaseToken as string;
    const rescuer = await d.registerAgent("s-rescuer", ["sess.crash"], { silent: true });
    const rs = await session(rescuer);
    const rescue = rs.request("claim", { max: 1, waitMs: 5_000 });

    const killedAt = Date.now();
    hs.ws.terminate(); // no close frame, no goodbye: as a crashed process
    const got = (await rescue) as { status: number; body: { tasks: Array<{ id: string; attempt: number }> } };
    const tookMs = Date.now() - killedAt;
    expect(got.status).toBe(200);
    expect(got.body.tasks[0]).toMatchObject({ id: taskId, attempt: 2 });
    expect(tookMs).toBeGreaterThanOrEqual(GRACE_MS - 5);
    expect(tookMs).toBeLessThan(3_000);

    const agents = (await d.api("GET", "/api/dashboard/agents")).body;
    const listed = (agents.agents ?? agents.items ?? agents).find?.(
      (a: { id: string }) => a.id === holder.id,
    );
    if (listed) expect(listed.state).toBe("dead");
    // The dead agent's old lease is fenced off, over HTTP as over a session.
    const late = await d.api("POST", `/api/tasks/${taskId}/complete`, {
      token: holder.token,
      body: { leaseToken: lease },
    });
    expect(late.status).toBe(409);
    expect(await metric("overseer_agent_session_grace_expiries_total")).toBe(expiriesBefore + 1);
    expect((await sessionUpgradeStatus(d.url, holder.id, holder.token)).status).toBe(404);
  });

  it("resumes when the agent reconnects within the grace: same agent, same lease", async () => {
    const resumedBefore = await metric("overseer_agent_sessions_resumed_total");
    const agent = await d.registerAgent("s-blip", ["sess.blip"], { silent: true });
    const first = await session(agent);
    const taskId = await submit("sess.blip");
    const claim = (await first.request("claim", { max: 1, waitMs: 2_000 })) as {
      body: { tasks: Array<{ leaseToken: string }> };
    };
    const lease = claim.body.tasks[0]?.leaseToken as string;
    first.ws.terminate();
    const second = await session(agent);
    await new Promise((r) => setTimeout(r, GRACE_MS * 3));
    expect((await second.request("heartbeat", { activeTaskIds: [taskId] })).status).toBe(200);
    expect(await second.request("complete", { leaseToken: lease }, taskId)).toMatchObject({ status: 200 });
    expect(await metric("overseer_agent_sessions_resumed_total")).toBe(resumedBefore + 1);
  });

  it("a goodbye closes with 1000 and is not a death; a second session replaces the first with 4409", async () => {
    const agent = await d.registerAgent("s-bye", ["sess.bye"], { silent: true });
    const first = await session(agent);
    const second = await session(agent);
    expect(await first.closed).toBe(4409);
    expect((await second.request("heartbeat", {})).status).toBe(200);
    second.ws.send(JSON.stringify({ op: "bye" }));
    expect(await second.closed).toBe(1000);
    await new Promise((r) => setTimeout(r, GRACE_MS * 3));
    // Still alive: liveness is back on heartbeats, here over HTTP.
    const beat = await d.api("POST", `/api/agents/${agent.id}/heartbeat`, { token: agent.token, body: {} });
    expect(beat.status).toBe(200);
    await eventually(
      async () => (await metric("overseer_agent_session_disconnects_total", { reason: "goodbye" })) >= 1,
      2_000,
      "the goodbye counted",
    );
  });
});
