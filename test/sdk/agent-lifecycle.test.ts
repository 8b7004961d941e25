import { afterEach, describe, expect, it } from "vitest";
import type { AgentLifecycleState } from "../../sdk/agent-types.ts";
import type { TaskContext } from "../../sdk/task-run.ts";
import { cleanup, deadUrl, deferred, makeAgent, pause, startStub } from "./helpers.ts";

afterEach(cleanup);

describe("Agent lifecycle", () => {
  it("registers with the agent secret, then heartbeats with its token", async () => {
    const stub = await startStub();
    const agent = makeAgent(stub);
    const states: AgentLifecycleState[] = [];
    const registered: unknown[] = [];
    agent.on("state", (s) => states.push(s));
    agent.on("registered", (info) => registered.push(info));
    expect(agent.state).toBe("INITIALIZED");

    await agent.start();
    expect(agent.state).toBe("RUNNING");
    expect(agent.id).toBe("agent-1");
    expect(states).toEqual(["REGISTERING", "RUNNING"]);
    expect(registered).toEqual([{ id: "agent-1" }]);
    const [register] = stub.requestsTo("POST", "/api/agents/register");
    expect(register!.token).toBe(stub.agentSecret);
    expect(register!.body).toEqual({
      name: "test-agent",
      role: "worker",
      // The built-in canary answer (docs/probes.md) is advertised after the agent's own types.
      capabilities: ["echo", "overseer.canary.worker"],
      concurrency: 1,
    });

    const beats = await stub.waitFor(() => {
      const list = stub.requestsTo("POST", "/api/agents/agent-1/heartbeat");
      return list.length >= 3 && list;
    });
    for (const beat of beats) {
      expect(beat.token).toBe("token-1");
      expect(beat.body).toEqual({ status: "active", activeTaskIds: [], load: 0 });
    }
    // Interval comes from the register answer (50 ms).
    expect(beats[2]!.at - beats[0]!.at).toBeGreaterThanOrEqual(80);
  });

  it("registers again with a new id when a heartbeat answers 404; in-flight tasks keep their old token", async () => {
    const stub = await startStub();
    const gate = deferred();
    let started: TaskContext | undefined;
    const agent = makeAgent(stub, {
      handlers: {
        work: async (ctx) => {
          started = ctx;
          await gate.promise;
          return "ok";
        },
      },
    });
    const registered: unknown[] = [];
    agent.on("registered", (info) => registered.push(info));
    await agent.start();
    stub.enqueue({ id: "t1", type: "work" });
    await stub.waitFor(() => started);

    stub.forget("agent-1");
    await stub.waitFor(() => agent.id === "agent-2" && agent.state === "RUNNING");
    expect(registered).toEqual([{ id: "agent-1" }, { id: "agent-2", previousId: "agent-1" }]);
    const beat = await stub.waitFor(() => stub.requestsTo("POST", "/api/agents/agent-2/heartbeat")[0]);
    expect(beat.token).toBe("token-2");
    // The old registration's task is not reported as this id's lease, but still counts as load.
    expect(beat.body).toEqual({ status: "active", activeTaskIds: [], load: 1 });

    gate.resolve();
    const complete = await stub.waitFor(() => stub.requestsTo("POST", "/api/tasks/t1/complete")[0]);
    expect(complete.token).toBe("token-1");
    await stub.waitFor(() => agent.stats.completed === 1);
  });

  it("abandons a long-poll held under the stale id and claims under the new one at once", async () => {
    const stub = await startStub();
    const agent = makeAgent(stub, { claimWaitMs: 5_000 });
    await agent.start();
    await stub.waitFor(() => stub.requestsTo("POST", "/api/agents/agent-1/claim").length === 1);
    stub.forget("agent-1");
    await stub.waitFor(() => stub.requestsTo("POST", "/api/agents/agent-2/claim").length === 1, 1_000);
    stub.enqueue({ id: "t1", type: "echo" });
    const complete = await stub.waitFor(() => stub.requestsTo("POST", "/api/tasks/t1/complete")[0], 1_000);
    expect(complete.token).toBe("token-2");
  });

  it("registers again when a heartbeat answers 401 (daemon restarted with other tokens)", async () => {
    const stub = await startStub();
    const agent = makeAgent(stub);
    await agent.start();
    stub.agents.get("agent-1")!.token = "rotated";
    await stub.waitFor(() => agent.id === "agent-2");
    expect(stub.requestsTo("POST", "/api/agents/register")).toHaveLength(2);
  });

  it("stop(): heartbeat 'draining', finishes what it can, releases the rest after the grace time, deregisters", async () => {
    const stub = await startStub();
    const quickGate = deferred();
    const signals = new Map<string, AbortSignal>();
    const agent = makeAgent(stub, {
      concurrency: 2,
      handlers: {
        quick: async (ctx) => {
          signals.set(ctx.id, ctx.signal);
          await quickGate.promise;
          return "quick";
        },
        hang: (ctx) => {
          signals.set(ctx.id, ctx.signal);
          return new Promise(() => {});
        },
      },
    });
    const states: AgentLifecycleState[] = [];
    agent.on("state", (s) => states.push(s));
    await agent.start();
    stub.enqueue({ id: "q", type: "quick" }, { id: "h", type: "hang" });
    await stub.waitFor(() => signals.size === 2);
    const claimsBefore = stub.requestsTo("POST", /\/claim$/).length;

    const startedAt = Date.now();
    const stopping = agent.stop({ graceMs: 150 });
    expect(agent.stop()).toBe(stopping);
    await stub.waitFor(() => agent.state === "DRAINING");
    setTimeout(quickGate.resolve, 30);
    await stopping;

    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(140);
    expect(agent.state).toBe("STOPPED");
    expect(states.slice(-2)).toEqual(["DRAINING", "STOPPED"]);
    expect(signals.get("h")!.aborted).toBe(true);
    expect(signals.get("q")!.aborted).toBe(false);
    expect(agent.stats).toMatchObject({ claimed: 2, completed: 1, released: 1, lost: 0 });

    const index = (pred: (r: (typeof stub.requests)[number]) => boolean): number =>
      stub.requests.findIndex(pred);
    const draining = index((r) => r.path.endsWith("/heartbeat") && r.body.status === "draining");
    const complete = index((r) => r.path === "/api/tasks/q/complete");
    const release = index((r) => r.path === "/api/tasks/h/release");
    const remove = index((r) => r.method === "DELETE" && r.path === "/api/agents/agent-1");
    expect(draining).toBeGreaterThanOrEqual(0);
    expect(draining).toBeLessThan(complete);
    expect(complete).toBeLessThan(release);
    expect(release).toBeLessThan(remove);
    expect(stub.requests[draining]!.body).toEqual({ status: "draining", activeTaskIds: ["q", "h"], load: 1 });
    expect(stub.requests[release]!.body).toEqual({ leaseToken: expect.any(String) });
    expect(stub.requestsTo("POST", /\/claim$/)).toHaveLength(claimsBefore);

    // Nothing runs after stop: no more heartbeats.
    const count = stub.requests.length;
    await pause(120);
    expect(stub.requests.length).toBe(count);
    await agent.stop();
  });

  it("stop() aborts a pending claim long-poll at once", async () => {
    const stub = await startStub();
    const agent = makeAgent(stub, { claimWaitMs: 5_000 });
    await agent.start();
    await stub.waitFor(() => stub.requestsTo("POST", /\/claim$/).length === 1);
    const startedAt = Date.now();
    await agent.stop();
    expect(Date.now() - startedAt).toBeLessThan(500);
    expect(stub.requestsTo("DELETE", "/api/agents/agent-1")).toHaveLength(1);
  });

  it("drain command: stops claiming, finishes in-flight work without a time limit, deregisters", async () => {
    const stub = await startStub();
    const gate = deferred();
    let started = false;
    const agent = makeAgent(stub, {
      shutdownGraceMs: 50,
      handlers: {
        work: async () => {
          started = true;
          await gate.promise;
          return "done";
        },
      },
    });
    await agent.start();
    stub.enqueue({ id: "t1", type: "work" });
    await stub.waitFor(() => started);

    stub.command("agent-1", { type: "bogus" });
    stub.command("agent-1", { type: "drain" });
    await stub.waitFor(() => agent.state === "DRAINING");
    // Still heartbeating (as draining) well past shutdownGraceMs, the task still running.
    await pause(150);
    expect(
      stub.requestsTo("POST", "/api/agents/agent-1/heartbeat").filter((r) => r.body.status === "draining")
        .length,
    ).toBeGreaterThanOrEqual(2);
    expect(agent.state).toBe("DRAINING");
    gate.resolve();
    await stub.waitFor(() => agent.state === "STOPPED");
    expect(agent.stats).toMatchObject({ completed: 1, released: 0 });
    expect(stub.requestsTo("DELETE", "/api/agents/agent-1")).toHaveLength(1);
    expect(agent.restartRequested).toBe(false);
  });

  it("restart command: drains, deregisters, then emits 'restart'", async () => {
    const stub = await startStub();
    const agent = makeAgent(stub);
    const restarted = deferred();
    agent.on("restart", () => restarted.resolve());
    await agent.start();
    stub.command("agent-1", { type: "restart" });
    await restarted.promise;
    expect(agent.state).toBe("STOPPED");
    expect(agent.restartRequested).toBe(true);
    expect(stub.requestsTo("DELETE", "/api/agents/agent-1")).toHaveLength(1);
  });

  it("fails over to the second URL on a network error", async () => {
    const stub = await startStub();
    const agent = makeAgent(stub, { url: undefined, urls: [await deadUrl(), stub.url] });
    await agent.start();
    expect(agent.id).toBe("agent-1");
    await stub.waitFor(() => stub.requestsTo("POST", "/api/agents/agent-1/heartbeat").length > 0);
  });

  it("fails over mid-run when the first daemon goes away, and registers with the second", async () => {
    const first = await startStub();
    const second = await startStub();
    const agent = makeAgent(first, { url: undefined, urls: [first.url, second.url] });
    await agent.start();
    expect(first.requestsTo("POST", "/api/agents/register")).toHaveLength(1);
    await first.close();
    // The second daemon does not know agent-1: 404 → register there.
    await second.waitFor(() => second.requestsTo("POST", "/api/agents/register").length === 1);
    await second.waitFor(
      () => agent.state === "RUNNING" && second.requestsTo("POST", /\/heartbeat$/).length > 0,
    );
    expect(agent.id).toBe("agent-1");
    expect(second.requestsTo("POST", "/api/agents/agent-1/heartbeat")[0]!.token).toBe("token-1");
  });

  it("retries transient answers (503) with backoff", async () => {
    const stub = await startStub();
    let calls = 0;
    stub.override((req) =>
      req.path === "/api/agents/register" && ++calls <= 2 ? { status: 503 } : undefined,
    );
    const agent = makeAgent(stub);
    await agent.start();
    expect(stub.requestsTo("POST", "/api/agents/register")).toHaveLength(3);
    expect(agent.state).toBe("RUNNING");
  });

  it("goes FAILED and rejects start() when the secret is refused", async () => {
    const stub = await startStub();
    const agent = makeAgent(stub, { agentSecret: "wrong" });
    await expect(agent.start()).rejects.toMatchObject({ status: 401, code: "UNAUTHORIZED" });
    expect(agent.state).toBe("FAILED");
    expect(stub.requestsTo("POST", "/api/agents/register")).toHaveLength(1);
    await agent.stop();
    expect(agent.state).toBe("FAILED");
  });

  it("stop() before start() just stops; start() afterwards rejects", async () => {
    const stub = await startStub();
    const agent = makeAgent(stub);
    await agent.stop();
    expect(agent.state).toBe("STOPPED");
    await expect(agent.start()).rejects.toThrow(/STOPPED/);
    expect(stub.requests).toHaveLength(0);
  });
});
