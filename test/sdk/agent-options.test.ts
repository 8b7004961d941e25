import { describe, expect, it } from "vitest";
import { Agent } from "../../sdk/agent.ts";
import { compileAgentOptions } from "../../sdk/agent-options.ts";
import { noopLogger, systemClock } from "../../sdk/runtime.ts";

const base = { agentSecret: "s", name: "a-1", role: "worker", handlers: { echo: () => "ok" } };

describe("compileAgentOptions", () => {
  it("refuses an agent without a daemon URL, as the Agent's constructor does", () => {
    expect(() => compileAgentOptions(base)).toThrow(TypeError);
    expect(() => compileAgentOptions({ ...base, urls: [] })).toThrow(TypeError);
    expect(() => new Agent(base)).toThrow(TypeError);
  });

  it("applies the documented defaults", () => {
    const o = compileAgentOptions({ ...base, url: "http://d" });
    expect(o.http.urls).toEqual(["http://d"]);
    expect(o.logger).toBe(noopLogger);
    expect(o.clock).toBe(systemClock);
    expect(o.requestTimeoutMs).toBe(15_000);
    expect(o.http.requestTimeoutMs).toBe(15_000);
    expect(o.concurrency).toBe(1);
    expect(o.claimWaitMs).toBe(10_000);
    expect(o.shutdownGraceMs).toBe(10_000);
    expect(o.recordLlmContent).toBe(false);
    expect(o.llm).toBeUndefined();
  });

  it("clamps concurrency and durations, and prefers `urls` to `url`", () => {
    const o = compileAgentOptions({
      ...base,
      url: "http://one",
      urls: ["http://a", "http://b"],
      concurrency: 2.7,
      claimWaitMs: -5,
      shutdownGraceMs: -1,
    });
    expect(o.http.urls).toEqual(["http://a", "http://b"]);
    expect(o.concurrency).toBe(2);
    expect(o.registration.concurrency).toBe(2);
    expect(o.claimWaitMs).toBe(0);
    expect(o.shutdownGraceMs).toBe(0);
    expect(compileAgentOptions({ ...base, url: "http://d", concurrency: 0 }).concurrency).toBe(1);
  });

  it("registers the canary's task type with a built-in handler unless disabled", () => {
    const o = compileAgentOptions({ ...base, url: "http://d" });
    expect(o.registration).toEqual({
      name: "a-1",
      role: "worker",
      capabilities: ["echo", "overseer.canary.worker"],
      concurrency: 1,
    });
    expect(Object.keys(o.handlers)).toEqual(["echo", "overseer.canary.worker"]);

    const off = compileAgentOptions({ ...base, url: "http://d", answerCanaries: false });
    expect(off.registration.capabilities).toEqual(["echo"]);
    expect(Object.keys(off.handlers)).toEqual(["echo"]);
  });
});
