import { afterEach, describe, expect, it } from "vitest";
import { TaskAbortedError, TaskError } from "../../sdk/task-error.ts";
import type { TaskContext } from "../../sdk/task-run.ts";
import { cleanup, deferred, makeAgent, memoryLogger, pause, startStub } from "./helpers.ts";

afterEach(cleanup);

describe("Agent task handling", () => {
  it("claims a task, runs the handler and completes it with the lease token", async () => {
    const stub = await startStub();
    const agent = makeAgent(stub);
    const completed: unknown[] = [];
    agent.on("task:completed", (info) => completed.push(info));
    await agent.start();
    stub.enqueue({ id: "t1", type: "echo", payload: { n: 1 } });

    const complete = await stub.waitFor(() => stub.requestsTo("POST", "/api/tasks/t1/complete")[0]);
    expect(complete.token).toBe("token-1");
    expect(complete.body).toEqual({
      leaseToken: expect.stringMatching(/^lease-/),
      result: { echoed: { n: 1 } },
    });
    await stub.waitFor(() => agent.stats.completed === 1);
    expect(agent.stats).toEqual({ claimed: 1, completed: 1, failed: 0, lost: 0, released: 0 });
    expect(completed).toEqual([
      expect.objectContaining({
        taskId: "t1",
        type: "echo",
        attempt: 1,
        agentId: "agent-1",
        result: { echoed: { n: 1 } },
      }),
    ]);
    expect(stub.leases.size).toBe(0);
  });

  it("claims only free capacity and never runs more than `concurrency` handlers", async () => {
    const stub = await startStub();
    const gates = new Map<string, () => void>();
    let running = 0;
    let peak = 0;
    const agent = makeAgent(stub, {
      concurrency: 2,
      handlers: {
        work: async (ctx) => {
          running++;
          peak = Math.max(peak, running);
          const gate = deferred();
          gates.set(ctx.id, gate.resolve);
          await gate.promise;
          running--;
          return ctx.id;
        },
      },
    });
    await agent.start();
    stub.enqueue({ id: "a", type: "work" }, { id: "b", type: "work" }, { id: "c", type: "work" });

    await stub.waitFor(() => gates.size === 2);
    await pause(60);
    expect(running).toBe(2);
    // While busy the agent must not hold a claim open; heartbeats report both tasks and full load.
    const hb = await stub.waitFor(() =>
      stub.requestsTo("POST", "/api/agents/agent-1/heartbeat").find((r) => r.body.activeTaskIds.length === 2),
    );
    expect(hb.body).toEqual({ status: "active", activeTaskIds: ["a", "b"], load: 1 });

    gates.get("a")!();
    await stub.waitFor(() => gates.has("c"));
    const claims = stub.requestsTo("POST", "/api/agents/agent-1/claim").map((r) => r.body.max);
    expect(claims[0]).toBe(2);
    expect(claims.at(-1)).toBe(1);
    gates.get("b")!();
    gates.get("c")!();
    await stub.waitFor(() => agent.stats.completed === 3);
    expect(peak).toBe(2);
  });

  it("hands back at once tasks beyond what it asked for", async () => {
    const stub = await startStub();
    stub.ignoreClaimMax = true;
    const gate = deferred();
    const agent = makeAgent(stub, {
      handlers: {
        work: async () => {
          await gate.promise;
          return "ok";
        },
      },
    });
    await agent.start();
    stub.enqueue({ id: "a", type: "work" }, { id: "b", type: "work" });
    await stub.waitFor(() => agent.stats.released === 1);
    expect(stub.requestsTo("POST", "/api/tasks/b/release")).toHaveLength(1);
    expect(agent.inFlight).toBe(1);
    gate.resolve();
    // The released task comes back through an ordinary claim.
    await stub.waitFor(() => agent.stats.completed === 2);
  });

  it("fails with the TaskError's category and retryable flag; plain errors are retryable 'unknown'", async () => {
    const stub = await startStub();
    const agent = makeAgent(stub, {
      handlers: {
        bad: () => {
          throw new TaskError("bad input", { category: "validation", retryable: false });
        },
        flaky: async () => {
          throw new Error("boom");
        },
      },
    });
    await agent.start();
    stub.enqueue({ id: "t1", type: "bad" }, { id: "t2", type: "flaky" });

    await stub.waitFor(() => agent.stats.failed === 2);
    expect(stub.requestsTo("POST", "/api/tasks/t1/fail")[0]!.body.error).toEqual({
      message: "bad input",
      category: "validation",
      retryable: false,
    });
    expect(stub.requestsTo("POST", "/api/tasks/t2/fail")[0]!.body.error).toEqual({
      message: "boom",
      category: "unknown",
      retryable: true,
    });
    expect(stub.requestsTo("POST", /complete$/)).toHaveLength(0);
  });

  it("drops the result and emits task:lost when complete answers 409, without retrying", async () => {
    const stub = await startStub();
    stub.override((req) =>
      req.path.endsWith("/complete")
        ? { status: 409, body: { error: { code: "LEASE_REVOKED", message: "gone" } } }
        : undefined,
    );
    const agent = makeAgent(stub);
    const lost: unknown[] = [];
    agent.on("task:lost", (info) => lost.push(info));
    await agent.start();
    stub.enqueue({ id: "t1", type: "echo" });

    await stub.waitFor(() => agent.stats.lost === 1);
    expect(lost).toEqual([expect.objectContaining({ taskId: "t1", reason: "revoked" })]);
    await pause(50);
    expect(stub.requestsTo("POST", "/api/tasks/t1/complete")).toHaveLength(1);
    expect(stub.requestsTo("POST", "/api/tasks/t1/fail")).toHaveLength(0);
    expect(agent.stats.completed).toBe(0);
  });

  it("aborts the handler's signal on a cancel command and reports nothing for that task", async () => {
    const stub = await startStub();
    let seen: TaskContext | undefined;
    const agent = makeAgent(stub, {
      handlers: {
        slow: async (ctx) => {
          seen = ctx;
          await new Promise((_resolve, reject) =>
            ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)),
          );
        },
      },
    });
    const lost: Array<{ reason: string; message?: string }> = [];
    agent.on("task:lost", (info) => lost.push(info));
    await agent.start();
    stub.enqueue({ id: "t1", type: "slow" });
    await stub.waitFor(() => seen);

    stub.command("agent-1", { type: "cancel", taskId: "t1", reason: "operator" });
    await stub.waitFor(() => seen!.signal.aborted);
    expect(seen!.signal.reason).toBeInstanceOf(TaskAbortedError);
    expect((seen!.signal.reason as TaskAbortedError).abortCause).toBe("cancelled");
    await stub.waitFor(() => agent.stats.lost === 1);
    expect(lost).toEqual([expect.objectContaining({ reason: "cancelled", message: "operator" })]);
    await pause(30);
    expect(stub.requestsTo("POST", /^\/api\/tasks\/t1\/(complete|fail|release)$/)).toHaveLength(0);
    // The slot is free again: a new task gets claimed.
    stub.enqueue({ id: "t2", type: "slow" });
    await stub.waitFor(() => seen?.id === "t2");
  });

  it("treats a 409 on progress as a lost lease: aborts the signal, no complete afterwards", async () => {
    const stub = await startStub();
    stub.override((req) =>
      req.path.endsWith("/progress")
        ? { status: 409, body: { error: { code: "LEASE_REVOKED", message: "gone" } } }
        : undefined,
    );
    let abortedAfterProgress: boolean | undefined;
    const agent = makeAgent(stub, {
      handlers: {
        work: async (ctx) => {
          await ctx.progress(50, "half");
          abortedAfterProgress = ctx.signal.aborted;
          return "done";
        },
      },
    });
    await agent.start();
    stub.enqueue({ id: "t1", type: "work" });

    await stub.waitFor(() => agent.stats.lost === 1);
    expect(abortedAfterProgress).toBe(true);
    const [progress] = stub.requestsTo("POST", "/api/tasks/t1/progress");
    expect(progress!.body).toEqual({ leaseToken: expect.any(String), percent: 50, message: "half" });
    await pause(30);
    expect(stub.requestsTo("POST", /^\/api\/tasks\/t1\/(complete|fail)$/)).toHaveLength(0);
  });

  it("aborts the signal when the task's timeoutMs passes and fails it as a timeout", async () => {
    const stub = await startStub();
    let signal: AbortSignal | undefined;
    const agent = makeAgent(stub, {
      handlers: {
        hang: (ctx) => {
          signal = ctx.signal;
          return new Promise(() => {});
        },
      },
    });
    await agent.start();
    stub.enqueue({ id: "t1", type: "hang", timeoutMs: 60 });

    await stub.waitFor(() => agent.stats.failed === 1);
    expect(signal!.aborted).toBe(true);
    expect(stub.requestsTo("POST", "/api/tasks/t1/fail")[0]!.body.error).toEqual({
      message: "task timed out after 60 ms",
      category: "timeout",
      retryable: true,
    });
  });

  it("fails tasks of unknown types as retryable 'unsupported'", async () => {
    const stub = await startStub();
    const agent = makeAgent(stub, { capabilities: ["echo", "other"] });
    await agent.start();
    // The built-in canary answer (docs/probes.md) is advertised after the agent's own types.
    expect(stub.requestsTo("POST", "/api/agents/register")[0]!.body.capabilities).toEqual([
      "echo",
      "other",
      "overseer.canary.worker",
    ]);
    stub.enqueue({ id: "t1", type: "other" });
    await stub.waitFor(() => agent.stats.failed === 1);
    expect(stub.requestsTo("POST", "/api/tasks/t1/fail")[0]!.body.error).toMatchObject({
      category: "unsupported",
      retryable: true,
    });
  });

  it("logs instead of emitting 'error' when nobody listens, and emits when someone does", async () => {
    const stub = await startStub();
    stub.override((req) =>
      req.path.endsWith("/complete")
        ? { status: 400, body: { error: { code: "TOO_BIG", message: "result too big" } } }
        : undefined,
    );
    const logger = memoryLogger();
    const agent = makeAgent(stub, { logger });
    await agent.start();
    stub.enqueue({ id: "t1", type: "echo" });
    await stub.waitFor(() => agent.stats.lost === 1);
    expect(logger.entries.some((e) => e.level === "error")).toBe(true);

    const errors: Error[] = [];
    agent.on("error", (err) => errors.push(err));
    stub.enqueue({ id: "t2", type: "echo" });
    await stub.waitFor(() => agent.stats.lost === 2);
    expect(errors[0]).toMatchObject({
      name: "ApiError",
      status: 400,
      code: "TOO_BIG",
      message: "result too big",
    });
    expect(stub.requestsTo("POST", "/api/tasks/t2/complete")).toHaveLength(1);
  });
});
