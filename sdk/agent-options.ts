import type { AgentOptions } from "./agent-types.ts";
import { withCanary } from "./canary-handler.ts";
import type { HttpClientOptions } from "./http-client.ts";
import type { LlmClient } from "./llm/llm-client.ts";
import { type Clock, type Logger, noopLogger, systemClock } from "./runtime.ts";
import type { TaskHandler } from "./task-run.ts";
import type { RegisterRequest } from "./types.ts";

/** AgentOptions with every default applied: what the Agent and its parts run on. */
export interface CompiledAgentOptions {
  /** @default noopLogger */
  logger: Logger;
  /** @default systemClock */
  clock: Clock;
  /** For the agent's HttpClient: `url` or `urls`, fetch, jitter, retry and the request timeout. */
  http: HttpClientOptions;
  /** Per-request timeout (claims get claimWaitMs on top). @default 15_000 */
  requestTimeoutMs: number;
  agentSecret: string;
  /** What the agent registers with; its capabilities include the canary's task type when answered. */
  registration: RegisterRequest;
  /** The author's handlers, plus the built-in canary answer unless disabled. */
  handlers: Record<string, TaskHandler>;
  /** Tasks run at once, at least 1. @default 1 */
  concurrency: number;
  /** How long each claim long-poll may wait, at least 0. @default 10_000 */
  claimWaitMs: number;
  /** @default "session" */
  transport: "session" | "http";
  /** Default grace time of `stop()`, at least 0. @default 10_000 */
  shutdownGraceMs: number;
  /** Present when handlers get `ctx.llm`. */
  llm: LlmClient | undefined;
  /** @default false */
  recordLlmContent: boolean;
  llmRecording: AgentOptions["llmRecording"];
}

/** Applies the defaults once, at construction; a TypeError when no daemon URL is given. */
export function compileAgentOptions(opts: AgentOptions): CompiledAgentOptions {
  const urls = opts.urls ?? (opts.url === undefined ? [] : [opts.url]);
  if (urls.length === 0) throw new TypeError("Agent needs `url` or `urls`");
  const logger = opts.logger ?? noopLogger;
  const clock = opts.clock ?? systemClock;
  const requestTimeoutMs = opts.requestTimeoutMs ?? 15_000;
  // The daemon's canary probe (docs/probes.md) sends this role a synthetic task; answer it built in.
  const withCanaryAnswer = withCanary(
    opts.role,
    opts.handlers,
    opts.capabilities,
    opts.answerCanaries ?? true,
  );
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? 1));
  return {
    logger,
    clock,
    http: {
      urls,
      fetch: opts.fetch,
      logger,
      clock,
      random: opts.random,
      retry: opts.retry,
      requestTimeoutMs,
    },
    requestTimeoutMs,
    agentSecret: opts.agentSecret,
    registration: {
      name: opts.name,
      role: opts.role,
      capabilities: withCanaryAnswer.capabilities,
      concurrency,
    },
    handlers: withCanaryAnswer.handlers,
    concurrency,
    claimWaitMs: Math.max(0, opts.claimWaitMs ?? 10_000),
    transport: opts.transport ?? "session",
    shutdownGraceMs: Math.max(0, opts.shutdownGraceMs ?? 10_000),
    llm: opts.llm,
    recordLlmContent: opts.recordLlmContent ?? false,
    llmRecording: opts.llmRecording,
  };
}
