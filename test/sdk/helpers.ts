import { createServer } from "node:net";
import { Agent } from "../../sdk/agent.ts";
import type { AgentOptions } from "../../sdk/agent-types.ts";
import type { Logger } from "../../sdk/runtime.ts";
import { StubDaemon } from "./stub-daemon.ts";

const cleanups: Array<() => Promise<void>> = [];

/** Stops agents and closes stubs created by the helpers; call from `afterEach`. */
export async function cleanup(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn();
}

/** A started stub daemon, closed after the test. */
export async function startStub(): Promise<StubDaemon> {
  const stub = await new StubDaemon().start();
  cleanups.push(() => stub.close());
  return stub;
}

export interface LogEntry {
  level: string;
  obj: object | undefined;
  msg: string | undefined;
}

/** Logger that keeps every entry in memory. */
export function memoryLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: string) =>
    (objOrMsg: object | string, msg?: string): void => {
      entries.push(
        typeof objOrMsg === "string"
          ? { level, obj: undefined, msg: objOrMsg }
          : { level, obj: objOrMsg, msg },
      );
    };
  return { entries, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** An agent wired to `stub` with small timings, stopped after the test. */
export function makeAgent(stub: StubDaemon, opts: Partial<AgentOptions> = {}): Agent {
  const agent = new Agent({
    url: stub.url,
    agentSecret: stub.agentSecret,
    name: "test-agent",
    role: "worker",
    handlers: { echo: (ctx) => ({ echoed: ctx.payload }) },
    claimWaitMs: 300,
    shutdownGraceMs: 200,
    requestTimeoutMs: 1_000,
    retry: { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 20 },
    ...opts,
  });
  cleanups.push(() => agent.stop({ graceMs: 0 }));
  return agent;
}

/** A URL on which nothing listens (connection refused). */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** A promise with its resolve function exposed. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Waits `ms`. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
