// Wire types of the HTTP agent protocol, shared by the SDK and its tests.

/** Status an agent reports in its heartbeats. */
export type AgentWireStatus = "active" | "draining";

/** Body of `POST /api/agents/register`. */
export interface RegisterRequest {
  name: string;
  role: string;
  capabilities: string[];
  concurrency?: number;
}

/** 201 answer of `POST /api/agents/register`. */
export interface RegisterResponse {
  id: string;
  token: string;
  heartbeatIntervalMs: number;
  leaseTimeoutMs?: number;
}

/** Body of `POST /api/agents/:id/heartbeat`. */
export interface HeartbeatRequest {
  status?: AgentWireStatus;
  activeTaskIds?: string[];
  load?: number;
}

/** Abort one task: its lease is gone, the agent must not report it. */
export interface CancelCommand {
  type: "cancel";
  taskId: string;
  reason?: string;
}

/** Stop claiming, finish in-flight work, deregister. */
export interface DrainCommand {
  type: "drain";
}

/** Drain, then ask the process manager for a restart. */
export interface RestartCommand {
  type: "restart";
}

/** Commands the daemon piggybacks on heartbeat answers. */
export type Command = CancelCommand | DrainCommand | RestartCommand;

/** 200 answer of `POST /api/agents/:id/heartbeat`; commands may hold types this SDK does not know. */
export interface HeartbeatResponse {
  commands: Array<Command | { type: string; [key: string]: unknown }>;
}

/** Body of `POST /api/agents/:id/claim`. */
export interface ClaimRequest {
  max?: number;
  waitMs?: number;
}

/** A task leased to this agent. */
export interface ClaimedTask {
  id: string;
  type: string;
  payload: unknown;
  attempt: number;
  /** Fencing token: every report about this task must carry it. */
  leaseToken: string;
  timeoutMs?: number;
  /**
   * W3C traceparent of the daemon's span for this attempt, when the daemon traces: make the
   * handler's span its child so the work joins the run's trace. Absent when tracing is off.
   */
  traceparent?: string;
}

/** 200 answer of `POST /api/agents/:id/claim`. */
export interface ClaimResponse {
  tasks: ClaimedTask[];
}

/** Body of `POST /api/tasks/:id/progress`. */
export interface ProgressRequest {
  leaseToken: string;
  percent?: number;
  message?: string;
}

/** Body of `POST /api/tasks/:id/complete`. */
export interface CompleteRequest {
  leaseToken: string;
  result?: unknown;
  /** W3C traceparent of the agent's handler span; recorded on the attempt. */
  traceparent?: string;
}

/** Error description sent with `POST /api/tasks/:id/fail`. */
export interface TaskFailure {
  message: string;
  category?: string;
  retryable?: boolean;
}

/** Body of `POST /api/tasks/:id/fail`. */
export interface FailRequest {
  leaseToken: string;
  error: TaskFailure;
  /** W3C traceparent of the agent's handler span; recorded on the attempt. */
  traceparent?: string;
}

/** Body of `POST /api/tasks/:id/release`. */
export interface ReleaseRequest {
  leaseToken: string;
}

/** Shape of every error body the daemon sends. */
export interface ErrorBody {
  /** `details` is whatever the daemon adds to locate the fault, e.g. `{index, field?}` for a batch. */
  error: { code: string; message: string; details?: unknown };
}
