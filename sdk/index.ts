// Public face of the Overseer agent SDK.
//
//   const agent = new Agent({
//     url: "http://overseer:8080", agentSecret, name: "summarizer-1", role: "worker", concurrency: 4,
//     handlers: {
//       summarize: async (ctx) => {
//         await ctx.progress(10, "fetching");
//         return summarize(ctx.payload, { signal: ctx.signal }); // throw TaskError to choose retryability
//       },
//     },
//   });
//   agent.on("error", (err) => log.warn({ err }));
//   agent.installSignalHandlers();
//   await agent.start();

export {
  type StartTracingOptions,
  startTracing,
  startTracingFromEnv,
  type TracingHandle,
} from "../contract/telemetry/start-tracing.ts";
export { formatTraceparent, parseTraceparent } from "../contract/telemetry/trace-context.ts";
export {
  type TracingEnv,
  type TracingSettings,
  tracingSettings,
} from "../contract/telemetry/tracing-config.ts";
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
export * from "./llm/index.ts";
export { type Clock, type LogFn, type Logger, noopLogger, systemClock, type TimerHandle } from "./runtime.ts";
export { type TaskAbortCause, TaskAbortedError, TaskError } from "./task-error.ts";
export type { LeaseOwner, LostReason, TaskContext, TaskHandler, TaskOutcome } from "./task-run.ts";
export { TASK_HANDLE_SPAN, TASK_SPAN_ATTR } from "./task-span.ts";
export type * from "./types.ts";
