// Public face of the Overseer agent SDK.
export { Agent } from "./agent.ts";
export type {
  AgentEvents,
  AgentLifecycleState,
  AgentOptions,
  AgentStats,
  TaskEventInfo,
} from "./agent-types.ts";
export {
  ApiError,
  defaultRetryPolicy,
  HttpClient,
  type HttpClientOptions,
  isApiError,
  type RequestOptions,
  type RetryPolicy,
} from "./http-client.ts";
export { type Clock, type LogFn, type Logger, noopLogger, systemClock, type TimerHandle } from "./runtime.ts";
export { type TaskAbortCause, TaskAbortedError, TaskError } from "./task-error.ts";
export type { LeaseOwner, LostReason, TaskContext, TaskHandler, TaskOutcome } from "./task-run.ts";
export type * from "./types.ts";
