import type { RetryPolicy } from "./http-client.ts";
import type { CallRecorderOptions } from "./llm/call-recorder.ts";
import type { LlmClient } from "./llm/llm-client.ts";
import type { Clock, Logger } from "./runtime.ts";
import type { LostReason, TaskHandler } from "./task-run.ts";
import type { TaskFailure } from "./types.ts";

/**
 * Lifecycle of an Agent:
 * - INITIALIZED: constructed, `start()` not called yet;
 * - REGISTERING: registering with the daemon, first time or again after the daemon forgot the agent (404/401);
 * - RUNNING: heartbeating and claiming tasks;
 * - DRAINING: `stop()` or a drain/restart command: no new claims, in-flight tasks finishing, still heartbeating;
 * - STOPPED: deregistered, timers stopped (terminal);
 * - FAILED: the daemon rejected the registration, or it could not be reached at start (terminal).
 */
export type AgentLifecycleState =
  | "INITIALIZED"
  | "REGISTERING"
  | "RUNNING"
  | "DRAINING"
  | "STOPPED"
  | "FAILED";

export interface AgentOptions {
  /** Daemon base URL; or give several in `urls` for failover on network errors. */
  url?: string;
  urls?: string[];
  /** Shared secret used only for registration. */
  agentSecret: string;
  name: string;
  role: string;
  /** Task types this agent advertises; defaults to the handler names. */
  capabilities?: string[];
  /** Maximum tasks run at once; default 1. */
  concurrency?: number;
  /** One handler per task type. */
  handlers: Record<string, TaskHandler>;
  /** Answer the daemon's canary task (`overseer.canary.<role>`) with a built-in handler; default true. */
  answerCanaries?: boolean;
  /** How long each claim long-poll may wait on the daemon; default 10 s. */
  claimWaitMs?: number;
  /**
   * How the agent talks to the daemon after registering: `"session"` (default) keeps one WebSocket
   * open for heartbeats, claims and reports, and uses HTTP whenever the session is down (a crash
   * is then seen at once, docs/agent-protocol.md "Sessions"); `"http"` sends a request per call.
   */
  transport?: "session" | "http";
  /** Default time `stop()` lets in-flight tasks finish before releasing them; default 10 s. */
  shutdownGraceMs?: number;
  logger?: Logger;
  fetch?: typeof fetch;
  clock?: Clock;
  /** Jitter source for retry backoff, in [0, 1). */
  random?: () => number;
  retry?: Partial<RetryPolicy>;
  /** Per-request timeout (claims get claimWaitMs on top); default 15 s. */
  requestTimeoutMs?: number;
  /**
   * LLM client for handlers: gives them `ctx.llm`, whose calls are recorded with the task and sent
   * to the daemon (`POST /api/llm/calls`) in the background. See docs/llm-client.md, "Recording calls".
   */
  llm?: LlmClient;
  /** Include prompts (messages) and response texts in the call records; default false (metadata only). */
  recordLlmContent?: boolean;
  /** Tuning of the call recorder: flushMs (1 s), maxBuffered (10,000), maxBatchRecords (200), maxBatchBytes (512 KiB). */
  llmRecording?: Pick<
    CallRecorderOptions,
    "flushMs" | "maxBuffered" | "maxBatchRecords" | "maxBatchBytes" | "newId" | "retry"
  >;
}

/** Identifies a task in events; `agentId` is the registration that holds the lease. */
export interface TaskEventInfo {
  taskId: string;
  type: string;
  attempt: number;
  leaseToken: string;
  agentId: string;
}

/** Events an Agent emits, with their arguments. */
export type AgentEvents = {
  state: [state: AgentLifecycleState, previous: AgentLifecycleState];
  registered: [info: { id: string; previousId?: string }];
  "task:start": [info: TaskEventInfo];
  "task:completed": [info: TaskEventInfo & { result: unknown; durationMs: number }];
  "task:failed": [info: TaskEventInfo & { error: TaskFailure; durationMs: number }];
  "task:lost": [info: TaskEventInfo & { reason: LostReason; message?: string }];
  "task:released": [info: TaskEventInfo];
  /** After a restart command: the agent drained and deregistered; the process should be restarted. */
  restart: [];
  /** Only emitted when someone listens; otherwise the error is logged. */
  error: [err: Error];
};

/** Counters of task outcomes since construction. */
export interface AgentStats {
  claimed: number;
  completed: number;
  failed: number;
  lost: number;
  released: number;
}
